// A kubeconfig that authenticates as a ServiceAccount with a bound token, as the webhook's pod would.
import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import type { TestCluster } from "../cluster/cluster.js";

/** Requests an hour's token for namespace/name (for the API server's own audiences) and writes its kubeconfig to path. */
export async function writeServiceAccountKubeconfig(
  cluster: TestCluster,
  serviceAccount: { namespace: string; name: string },
  path: string,
): Promise<void> {
  const tokenRequest = await cluster.client.request<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${serviceAccount.namespace}/serviceaccounts/${serviceAccount.name}/token`,
    { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  );
  const user = `${serviceAccount.namespace}-${serviceAccount.name}`;
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "e2e",
        cluster: {
          server: cluster.server,
          "certificate-authority-data": Buffer.from(cluster.caCertPem).toString("base64"),
        },
      },
    ],
    users: [{ name: user, user: { token: tokenRequest.status.token } }],
    contexts: [{ name: "e2e", context: { cluster: "e2e", user, namespace: serviceAccount.namespace } }],
    "current-context": "e2e",
  };
  await writeFile(path, stringify(kubeconfig), { mode: 0o600 });
}
