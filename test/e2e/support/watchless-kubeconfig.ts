// A kubeconfig whose identity may get and list ServiceAccounts but not watch them: a webhook run with it
// never hears of a ServiceAccount created after its first list, so every such review takes the live-GET path.
import { writeServiceAccountKubeconfig } from "../chart-support/service-account-kubeconfig.js";
import type { TestCluster } from "../cluster/cluster.js";

const identity = "e2e-webhook-without-watch";

/** Creates the identity (a ServiceAccount in `namespace` bound to get+list) and writes its kubeconfig to path. */
export async function writeWatchlessKubeconfig(
  cluster: TestCluster,
  namespace: string,
  path: string,
): Promise<void> {
  const { client } = cluster;
  await client.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: identity },
  });
  await client.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: identity },
    rules: [{ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "list"] }],
  });
  await client.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: identity },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: identity },
    subjects: [{ kind: "ServiceAccount", name: identity, namespace }],
  });
  await writeServiceAccountKubeconfig(cluster, { namespace, name: identity }, path);
}
