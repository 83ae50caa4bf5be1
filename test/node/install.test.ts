// The chart README's install, upgrade and uninstall on a real node, from the OCI registry the release was published
// to: the kubelet runs the image containerd pulled, the webhook manages its own certificate, `helm test` passes.
// One test, the release's life in order, each step starting from what the one before it left: install, helm
// test, upgrade, uninstall. A step that fails skips the ones after it.
import assert from "node:assert/strict";
import { after, before, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Deployment, MutatingWebhook } from "../chart/kinds.js";
import { container, type Pod, pod, serviceAccount } from "../e2e/support/pods.js";
import { startNode, type TestNode } from "./support/cluster.js";
import { hasCredentials } from "./support/credentials.js";
import { type PublishedRelease, publishToNode } from "./support/release.js";
import { chartReadmeCommands, installWebhook, release, runReadmeCommand } from "./support/webhook-release.js";

const { namespace } = release;
const deploymentPath = `/apis/apps/v1/namespaces/${namespace}/deployments/${release.name}`;
const configurationPath = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${release.name}`;
const secretName = `${release.name}-tls`;
const roleArn = "arn:aws:iam::111122223333:role/install-check";

let node: TestNode | undefined;
let published: PublishedRelease | undefined;

before(async () => {
  node = await startNode();
  published = await publishToNode(node);
});

after(async () => {
  await published?.stop();
  const left = await node?.stop();
  assert.deepEqual(left ?? [], [], "the node left these behind");
});

function started(): { node: TestNode; published: PublishedRelease } {
  if (node === undefined || published === undefined) throw new Error("the node or the release did not start");
  return { node, published };
}

interface StoredDeployment extends Deployment {
  status: { replicas?: number; readyReplicas?: number; updatedReplicas?: number };
}

interface StoredPod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { containers: { image: string }[] };
  status: { phase: string; containerStatuses?: { ready: boolean; imageID: string }[] };
}

interface Secret {
  metadata: { resourceVersion: string };
  type: string;
  data: Record<string, string>;
}

type StoredConfiguration = { webhooks: (MutatingWebhook & { clientConfig: { caBundle?: string } })[] };

const get = <T>(path: string): Promise<T> => started().node.client.request<T>("GET", path);

async function webhookPods(): Promise<StoredPod[]> {
  const selector = encodeURIComponent(
    `app.kubernetes.io/instance=${release.name},app.kubernetes.io/component!=test`,
  );
  const list = await get<{ items: StoredPod[] }>(
    `/api/v1/namespaces/${namespace}/pods?labelSelector=${selector}`,
  );
  return list.items;
}

async function caBundle(): Promise<string | undefined> {
  return (await get<StoredConfiguration>(configurationPath)).webhooks[0]?.clientConfig.caBundle;
}

/** Whether a dry-run pod of a role-annotated ServiceAccount comes back with credentials. */
async function mutates(appNamespace: string): Promise<boolean> {
  const created = await started().node.client.request<Pod>(
    "POST",
    `/api/v1/namespaces/${appNamespace}/pods?dryRun=All`,
    pod({ name: "probe", serviceAccountName: "app", containers: [container("app")] }),
  );
  return hasCredentials(created.spec);
}

/** What the install step hands the helm test step: the README's helm test command. */
let helmTestCommand: string[] | undefined;

async function installStep(t: TestContext): Promise<void> {
  const { node, published } = started();
  t.diagnostic(
    `node Ready in ${node.startedInMs} ms; image and chart published in ${published.publishMs} ms`,
  );
  const installStarted = Date.now();
  const { helmTest, mutatingAfterMs } = await installWebhook(node, published);
  t.diagnostic(
    `helm install + rollout status: ${Date.now() - installStarted - mutatingAfterMs} ms; ` +
      `the API server called the webhook ${mutatingAfterMs} ms after the rollout`,
  );

  const deployment = await get<StoredDeployment>(deploymentPath);
  assert.equal(deployment.spec.replicas, 2);
  assert.equal(deployment.status.readyReplicas, 2);
  const pods = await webhookPods();
  const expectedImage = `${published.registry.host}/web-identity-webhook/web-identity-webhook:${published.version}`;
  const digest = published.image.split("@")[1];
  assert.deepEqual(
    pods.map((p) => ({
      phase: p.status.phase,
      image: p.spec.containers[0]?.image,
      ready: p.status.containerStatuses?.[0]?.ready,
      // The kubelet reports the digest containerd pulled: the one scripts/publish.sh pushed.
      pulled: p.status.containerStatuses?.[0]?.imageID.endsWith(`@${digest}`),
    })),
    [
      { phase: "Running", image: expectedImage, ready: true, pulled: true },
      { phase: "Running", image: expectedImage, ready: true, pulled: true },
    ],
  );

  const secret = await get<Secret>(`/api/v1/namespaces/${namespace}/secrets/${secretName}`);
  assert.equal(secret.type, "kubernetes.io/tls");
  assert.deepEqual(Object.keys(secret.data).sort(), ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
  assert.equal(await caBundle(), secret.data["ca.crt"], "the caBundle is the Secret's CA");
  helmTestCommand = helmTest;
}

async function helmTestStep(t: TestContext): Promise<void> {
  const { node, published } = started();
  if (helmTestCommand === undefined) throw new Error("the install step found no helm test command");
  const began = Date.now();
  const logs = await runReadmeCommand(node, published, helmTestCommand, ["--logs"]);
  t.diagnostic(`helm test --logs: exit 0 in ${Date.now() - began} ms`);
  assert.match(logs, /^Phase:\s+Succeeded$/m);
}

async function upgradeStep(t: TestContext): Promise<void> {
  const { node, published } = started();
  const before = await caBundle();
  assert.ok(before, "the install wrote a caBundle");
  const [upgrade] = await chartReadmeCommands("Upgrade");
  if (upgrade === undefined) throw new Error("the chart README's Upgrade section has no command");
  const upgradeStarted = Date.now();
  await runReadmeCommand(node, published, upgrade, ["--set", "replicaCount=3"]);
  await node.kubectl.run([
    "-n",
    namespace,
    "rollout",
    "status",
    `deployment/${release.name}`,
    "--timeout=180s",
  ]);
  t.diagnostic(`helm upgrade + rollout status: ${Date.now() - upgradeStarted} ms`);

  const deployment = await get<StoredDeployment>(deploymentPath);
  assert.deepEqual([deployment.spec.replicas, deployment.status.readyReplicas], [3, 3]);
  assert.equal(await caBundle(), before);

  await node.createNamespace("upgrade-check");
  await node.client.request(
    "POST",
    "/api/v1/namespaces/upgrade-check/serviceaccounts",
    serviceAccount("app", { "eks.amazonaws.com/role-arn": roleArn }),
  );
  assert.equal(await mutates("upgrade-check"), true, "a pod created after the upgrade gets credentials");
}

interface Listed {
  items: { metadata: { name: string; labels?: Record<string, string> } }[];
}

/** Every object in the release namespace, and every cluster-wide one of the release, as Kind/name. */
async function whatIsLeft(): Promise<string[]> {
  const namespaced: [string, string][] = [
    ["Pod", `/api/v1/namespaces/${namespace}/pods`],
    ["Secret", `/api/v1/namespaces/${namespace}/secrets`],
    ["ConfigMap", `/api/v1/namespaces/${namespace}/configmaps`],
    ["ServiceAccount", `/api/v1/namespaces/${namespace}/serviceaccounts`],
    ["Service", `/api/v1/namespaces/${namespace}/services`],
    ["Deployment", `/apis/apps/v1/namespaces/${namespace}/deployments`],
    ["ReplicaSet", `/apis/apps/v1/namespaces/${namespace}/replicasets`],
    ["PodDisruptionBudget", `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets`],
    ["Role", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`],
    ["RoleBinding", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`],
  ];
  const selector = `?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${release.name}`)}`;
  const clusterWide: [string, string][] = [
    ["ClusterRole", `/apis/rbac.authorization.k8s.io/v1/clusterroles${selector}`],
    ["ClusterRoleBinding", `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings${selector}`],
    [
      "MutatingWebhookConfiguration",
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations${selector}`,
    ],
  ];
  const left: string[] = [];
  for (const [kind, path] of [...namespaced, ...clusterWide]) {
    for (const item of (await get<Listed>(path)).items) left.push(`${kind}/${item.metadata.name}`);
  }
  return left.sort();
}

/** The objects a README command `kubectl -n NS delete KIND NAME...` (or KIND/NAME) removes, as Kind/name. */
function deletedBy(words: readonly string[]): string[] {
  const kinds: Record<string, string> = {
    secret: "Secret",
    pod: "Pod",
    configmap: "ConfigMap",
    serviceaccount: "ServiceAccount",
  };
  const at = words.indexOf("delete");
  const targets = words.slice(at + 1).filter((word) => !word.startsWith("-"));
  const kindOf = (word: string): string => {
    const kind = kinds[word.toLowerCase().replace(/s$/, "")];
    if (kind === undefined) throw new Error(`README command ${words.join(" ")}: unknown kind ${word}`);
    return kind;
  };
  if (at === -1 || targets.length === 0) throw new Error(`README command ${words.join(" ")} deletes nothing`);
  if (targets[0]?.includes("/"))
    return targets.map((target) => {
      const [kind = "", name = ""] = target.split("/");
      return `${kindOf(kind)}/${name}`;
    });
  const [kind = "", ...names] = targets;
  return names.map((name) => `${kindOf(kind)}/${name}`);
}

/** What every namespace holds: its default ServiceAccount and the kube-root-ca.crt ConfigMap. */
const namespaceDefaults = ["ConfigMap/kube-root-ca.crt", "ServiceAccount/default"];

async function uninstallStep(t: TestContext): Promise<void> {
  const { node, published } = started();
  const [uninstall, ...cleanup] = await chartReadmeCommands("Uninstall");
  assert.deepEqual(
    uninstall?.slice(0, 2),
    ["helm", "uninstall"],
    "the README's Uninstall starts with helm uninstall",
  );
  if (uninstall === undefined) throw new Error("no uninstall command");
  const readmeLeaves = cleanup.flatMap(deletedBy);
  assert.ok(readmeLeaves.includes(`Secret/${secretName}`), "the README names the webhook's own Secret");
  const secretBefore = await get<Secret>(`/api/v1/namespaces/${namespace}/secrets/${secretName}`);
  const uninstallStarted = Date.now();
  await runReadmeCommand(node, published, uninstall);
  const deadline = Date.now() + 120_000;
  while ((await webhookPods()).length > 0) {
    if (Date.now() > deadline) assert.fail("the webhook pods were still there 120 s after helm uninstall");
    await sleep(250);
  }
  t.diagnostic(`helm uninstall until the last webhook pod was gone: ${Date.now() - uninstallStarted} ms`);

  assert.deepEqual(await whatIsLeft(), [...namespaceDefaults, ...readmeLeaves].sort());
  const secretAfter = await get<Secret>(`/api/v1/namespaces/${namespace}/secrets/${secretName}`);
  assert.equal(secretAfter.metadata.resourceVersion, secretBefore.metadata.resourceVersion, "left untouched");
  assert.equal(
    (await node.client.get(`/api/v1/namespaces/${namespace}`)).status,
    200,
    "Helm leaves the namespace",
  );

  for (const words of cleanup) await runReadmeCommand(node, published, words);
  assert.deepEqual(await whatIsLeft(), namespaceDefaults);
}

const steps: [string, (t: TestContext) => Promise<void>][] = [
  [
    "helm install from the OCI registry with the default values: both replicas Ready on the pulled image, the Secret created, the caBundle written",
    installStep,
  ],
  ["helm test --logs passes", helmTestStep],
  ["helm upgrade to 3 replicas keeps the caBundle, and the new replicas serve pods with it", upgradeStep],
  [
    "helm uninstall leaves what the chart README says once the pods have terminated, and the README's next commands remove it",
    uninstallStep,
  ],
];

test("the chart README's install, helm test, upgrade and uninstall, in order, on a real node", async (t) => {
  let failed: string | undefined;
  for (const [name, step] of steps) {
    const skip = failed === undefined ? false : `the step before failed: ${failed}`;
    await t.test(name, { skip }, async (st) => {
      try {
        await step(st);
      } catch (error) {
        failed = name;
        throw error;
      }
    });
  }
});
