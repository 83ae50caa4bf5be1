// "Installed with one `helm install`", for real: the real helm binary installs, upgrades and uninstalls the chart
// with its default values against the real API server, and the Deployment's container, run as a local process
// with the chart's ServiceAccount and behind the chart's Service, does its job with nothing but what the chart made.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Deployment, MutatingWebhook, Service } from "../chart/kinds.js";
import { chartDir, type KubeObject } from "../chart/render.js";
import { collectionPath } from "./chart-support/chart-objects.js";
import { writeServiceAccountKubeconfig } from "./chart-support/service-account-kubeconfig.js";
import { startCluster, type TestCluster } from "./cluster/cluster.js";
import { type DeployedWebhook, startDeployedWebhook } from "./helm-support/deployed-webhook.js";
import { createHelmCli, type HelmCli } from "./helm-support/helm-cli.js";
import { endpointAddress } from "./replica-support/replica.js";
import { addEndpoint, type Endpoint, removeEndpoint } from "./replica-support/service-routing.js";
import { eventually } from "./support/eventually.js";
import {
  byContainer,
  container,
  type Pod,
  type PodSpec,
  pod,
  serviceAccount,
  tokenMount,
  tokenProjection,
  webIdentityEnv,
} from "./support/pods.js";

const release = "wiw";
const releaseNamespace = "iam";
const fullname = `${release}-web-identity-webhook`;
const appNamespace = "apps";
const roleArn = "arn:aws:iam::111122223333:role/s3-reader";
const configurationPath = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${fullname}`;
const deploymentPath = `/apis/apps/v1/namespaces/${releaseNamespace}/deployments/${fullname}`;
const servicePath = `/api/v1/namespaces/${releaseNamespace}/services/${fullname}`;
const secretsPath = `/api/v1/namespaces/${releaseNamespace}/secrets`;
const serviceHost = `${fullname}.${releaseNamespace}.svc`;

/** Every object `helm install` with the default values creates, as Kind/name. */
const releaseObjects = [
  "ClusterRole/wiw-web-identity-webhook",
  "ClusterRole/wiw-web-identity-webhook-webhook-config",
  "ClusterRoleBinding/wiw-web-identity-webhook",
  "ClusterRoleBinding/wiw-web-identity-webhook-webhook-config",
  "Deployment/wiw-web-identity-webhook",
  "MutatingWebhookConfiguration/wiw-web-identity-webhook",
  "PodDisruptionBudget/wiw-web-identity-webhook",
  "Role/wiw-web-identity-webhook-certs",
  "RoleBinding/wiw-web-identity-webhook-certs",
  "Service/wiw-web-identity-webhook",
  "ServiceAccount/wiw-web-identity-webhook",
];

interface StoredObject {
  metadata: {
    name: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  };
}

interface Secret extends StoredObject {
  type: string;
  data: Record<string, string>;
}

type StoredWebhook = Omit<MutatingWebhook, "clientConfig"> & {
  clientConfig: MutatingWebhook["clientConfig"] & { caBundle?: string };
};

interface StoredConfiguration extends StoredObject {
  webhooks: StoredWebhook[];
}

interface HelmListEntry {
  name: string;
  namespace: string;
  revision: string;
  status: string;
}

let cluster: TestCluster | undefined;
let helm: HelmCli;
let workDir: string | undefined;
let address: string;
let webhook: DeployedWebhook | undefined;
/** The webhook's endpoint and the Service it was listed for (kept: the Service goes with the release). */
let routed: { endpoint: Endpoint; service: Service } | undefined;
/** The certificate Secret's name, from the Deployment's --cert-secret-name. */
let secretName = "";

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), "wiw-helm-install-"));
  address = endpointAddress();
  cluster = await startCluster();
  helm = await createHelmCli(cluster.kubeconfigPath, workDir);
});

after(async () => {
  await webhook?.stop();
  await cluster?.stop();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

function startedCluster(): TestCluster {
  if (cluster === undefined) throw new Error("the cluster did not start");
  return cluster;
}

const decoded = (base64: string | undefined): string => Buffer.from(base64 ?? "", "base64").toString("utf8");
const get = <T>(path: string): Promise<T> => startedCluster().client.request<T>("GET", path);
const objectPath = (object: KubeObject): string =>
  `${collectionPath(object, releaseNamespace)}/${object.metadata.name}`;

async function helmReleases(): Promise<HelmListEntry[]> {
  const { stdout } = await helm.run(["list", "--namespace", releaseNamespace, "--output", "json"]);
  return (JSON.parse(stdout) as HelmListEntry[]).map(({ name, namespace, revision, status }) => ({
    name,
    namespace,
    revision,
    status,
  }));
}

/** Runs helm and returns how long it took, in ms. */
async function timedHelm(args: readonly string[]): Promise<{ stdout: string; ms: number }> {
  const started = Date.now();
  const { stdout } = await helm.run(args);
  return { stdout, ms: Date.now() - started };
}

/** Starts what the stored Deployment runs, as its ServiceAccount, and lists it as the chart Service's endpoint. */
async function startWebhook(logName: string): Promise<number> {
  const started = Date.now();
  const { client, dir } = startedCluster();
  const deployment = await get<Deployment>(deploymentPath);
  const kubeconfigPath = join(dir, `${logName}-kubeconfig`);
  const name = deployment.spec.template.spec.serviceAccountName ?? "default";
  await writeServiceAccountKubeconfig(
    startedCluster(),
    { namespace: releaseNamespace, name },
    kubeconfigPath,
  );
  webhook = await startDeployedWebhook({
    deployment,
    kubeconfigPath,
    address,
    serviceHost,
    logPath: join(dir, `${logName}.log`),
  });
  // No controller runs here: the test writes the slice the EndpointSlice controller would write for the pod.
  routed = {
    endpoint: { name: logName, address, port: webhook.port },
    service: await get<Service>(servicePath),
  };
  await addEndpoint(client, releaseNamespace, routed.service, routed.endpoint);
  return Date.now() - started;
}

/** Stops the webhook process (SIGTERM, as the kubelet) and removes its endpoint, as for a deleted pod. */
async function stopWebhook(): Promise<{ exit: number | string; ms: number }> {
  if (webhook === undefined || routed === undefined) throw new Error("the webhook is not running");
  const stopped = await webhook.stop();
  await removeEndpoint(startedCluster().client, releaseNamespace, routed.service, routed.endpoint);
  webhook = undefined;
  routed = undefined;
  return stopped;
}

function readerPod(name: string): Pod {
  return pod({ name, serviceAccountName: "s3-reader", containers: [container("app")] });
}

/** Whether the API server, admitting a dry-run pod of the annotated ServiceAccount, has the webhook add the token. */
async function apiServerMutates(): Promise<boolean> {
  const created = await startedCluster().client.request<Pod>(
    "POST",
    `/api/v1/namespaces/${appNamespace}/pods?dryRun=All`,
    readerPod("probe"),
  );
  return tokenProjection(created.spec) !== undefined;
}

/** Creates the pod for real and reads it back as stored. */
async function createReaderPod(name: string): Promise<PodSpec> {
  await startedCluster().client.request("POST", `/api/v1/namespaces/${appNamespace}/pods`, readerPod(name));
  return (await get<Pod>(`/api/v1/namespaces/${appNamespace}/pods/${name}`)).spec;
}

/** The credentials of a stored pod, in one comparable value. */
function credentials(spec: PodSpec): unknown {
  return {
    env: byContainer(spec, "env"),
    token: tokenProjection(spec),
    tokenMounted: byContainer(spec, "volumeMounts").app?.some((m) => m.name === tokenMount.name) ?? false,
  };
}

const injected = {
  env: { app: webIdentityEnv(roleArn) },
  token: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" },
  tokenMounted: true,
};

test("helm install with the default values creates every object of the release, read back from the API server", async (t) => {
  const { stdout, ms } = await timedHelm([
    "install",
    release,
    chartDir,
    "--namespace",
    releaseNamespace,
    "--create-namespace",
  ]);
  t.diagnostic(`helm install took ${ms} ms`);
  assert.match(stdout, /^STATUS: deployed$/m);
  assert.deepEqual(await helmReleases(), [
    { name: release, namespace: releaseNamespace, revision: "1", status: "deployed" },
  ]);

  const objects = await helm.manifest(release, releaseNamespace);
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), releaseObjects);
  const stored = [];
  for (const object of objects) {
    const live = await get<StoredObject>(objectPath(object));
    stored.push({
      object: `${object.kind}/${live.metadata.name}`,
      managedBy: live.metadata.labels?.["app.kubernetes.io/managed-by"],
      release: live.metadata.annotations?.["meta.helm.sh/release-name"],
      releaseNamespace: live.metadata.annotations?.["meta.helm.sh/release-namespace"],
    });
  }
  assert.deepEqual(
    stored,
    objects.map((o) => ({
      object: `${o.kind}/${o.metadata.name}`,
      managedBy: "Helm",
      release,
      releaseNamespace,
    })),
  );

  // First install: `lookup` found no configuration, so there is no caBundle until the webhook writes it.
  const configuration = await get<StoredConfiguration>(configurationPath);
  assert.deepEqual(
    configuration.webhooks.map((w) => ({
      service: w.clientConfig.service,
      caBundle: w.clientConfig.caBundle,
    })),
    [
      {
        service: { name: fullname, namespace: releaseNamespace, path: "/mutate", port: 443 },
        caBundle: undefined,
      },
    ],
  );
  const deployment = await get<Deployment>(deploymentPath);
  const args = deployment.spec.template.spec.containers[0]?.args ?? [];
  const secretArg = args.find((arg) => arg.startsWith("--cert-secret-name="));
  assert.equal(secretArg, `--cert-secret-name=${fullname}-tls`);
  secretName = `${fullname}-tls`;
});

test("the Deployment's container, as the chart's ServiceAccount, creates its Secret, writes the caBundle and mutates pods through the chart's Service", async (t) => {
  const { client } = startedCluster();
  const startMs = await startWebhook("webhook");
  t.diagnostic(`webhook ready (Secret created, caBundle written) ${startMs} ms after start`);
  const running = webhook;
  if (running === undefined) throw new Error("the webhook did not start");
  assert.deepEqual(running.env, { POD_NAMESPACE: releaseNamespace });

  const secrets = await get<{ items: Secret[] }>(secretsPath);
  const webhookSecrets = secrets.items.filter((s) => !s.metadata.name.startsWith("sh.helm.release."));
  assert.deepEqual(
    webhookSecrets.map((s) => ({ name: s.metadata.name, type: s.type, keys: Object.keys(s.data).sort() })),
    [{ name: secretName, type: "kubernetes.io/tls", keys: ["ca.crt", "ca.key", "tls.crt", "tls.key"] }],
  );
  const caPem = decoded(webhookSecrets[0]?.data["ca.crt"]);
  const configuration = await get<StoredConfiguration>(configurationPath);
  assert.equal(decoded(configuration.webhooks[0]?.clientConfig.caBundle), caPem);
  // The certificate it serves chains to that CA and names the Service, as the API server checks.
  assert.equal(await running.verifiedReadyz(caPem), 200);

  await startedCluster().createNamespace(appNamespace);
  await client.request(
    "POST",
    `/api/v1/namespaces/${appNamespace}/serviceaccounts`,
    serviceAccount("s3-reader", { "eks.amazonaws.com/role-arn": roleArn }),
  );
  // failurePolicy is Ignore: wait until the API server has loaded the caBundle and the endpoint.
  const routed = Date.now();
  await eventually("the API server calls the webhook through the chart's Service", apiServerMutates, Boolean);
  t.diagnostic(
    `API server mutating through the Service ${Date.now() - routed} ms after the endpoint was added`,
  );

  assert.deepEqual(credentials(await createReaderPod("reader")), injected);
  assert.ok((await running.reviewedPods(appNamespace)).includes("reader"), "the webhook process reviewed it");
});

test("helm upgrade with the webhook stopped keeps the caBundle the webhook wrote and applies timeoutSeconds 7", async (t) => {
  const before = await get<StoredConfiguration>(configurationPath);
  const stopped = await stopWebhook();
  t.diagnostic(`webhook stopped by SIGTERM in ${stopped.ms} ms, exit ${stopped.exit}`);
  assert.equal(stopped.exit, 0);

  const { ms } = await timedHelm([
    "upgrade",
    release,
    chartDir,
    "--namespace",
    releaseNamespace,
    "--set",
    "webhook.timeoutSeconds=7",
  ]);
  t.diagnostic(`helm upgrade took ${ms} ms`);
  // helm's three-way merge leaves a field that neither the old nor the new manifest sets alone, so this holds
  // even without the chart's lookup; the --force upgrade below is the one that needs it.
  const upgraded = await get<StoredConfiguration>(configurationPath);
  assert.notEqual(upgraded.metadata.resourceVersion, before.metadata.resourceVersion);
  assert.deepEqual(
    upgraded.webhooks,
    before.webhooks.map((w) => ({ ...w, timeoutSeconds: 7 })),
  );
  assert.deepEqual(await helmReleases(), [
    { name: release, namespace: releaseNamespace, revision: "2", status: "deployed" },
  ]);
});

test("helm upgrade --force, which replaces the objects, keeps the caBundle too (the chart's lookup)", async (t) => {
  const before = await get<StoredConfiguration>(configurationPath);
  assert.ok(before.webhooks[0]?.clientConfig.caBundle, "the caBundle the webhook wrote is there to keep");
  const { ms } = await timedHelm([
    "upgrade",
    release,
    chartDir,
    "--namespace",
    releaseNamespace,
    "--reuse-values",
    "--set",
    "webhook.timeoutSeconds=8",
    "--force",
  ]);
  t.diagnostic(`helm upgrade --force took ${ms} ms`);
  const replaced = await get<StoredConfiguration>(configurationPath);
  assert.deepEqual(
    replaced.webhooks,
    before.webhooks.map((w) => ({ ...w, timeoutSeconds: 8 })),
  );
  assert.deepEqual(await helmReleases(), [
    { name: release, namespace: releaseNamespace, revision: "3", status: "deployed" },
  ]);
});

test("the restarted webhook finds its Secret and the caBundle as it left them, and mutates pods again", async (t) => {
  const secretBefore = await get<Secret>(`${secretsPath}/${secretName}`);
  const configurationBefore = await get<StoredConfiguration>(configurationPath);
  const startMs = await startWebhook("webhook-after-upgrade");
  t.diagnostic(`restarted webhook ready ${startMs} ms after start`);
  const running = webhook;
  if (running === undefined) throw new Error("the webhook did not start");
  const secretAfter = await get<Secret>(`${secretsPath}/${secretName}`);
  assert.equal(secretAfter.metadata.resourceVersion, secretBefore.metadata.resourceVersion, "Secret reused");

  await eventually("the API server calls the restarted webhook", apiServerMutates, Boolean);
  assert.deepEqual(credentials(await createReaderPod("reader-after-upgrade")), injected);
  assert.ok((await running.reviewedPods(appNamespace)).includes("reader-after-upgrade"));
  // Had an upgrade lost the caBundle, the webhook would have written it again (a new resourceVersion).
  const configurationAfter = await get<StoredConfiguration>(configurationPath);
  assert.equal(configurationAfter.metadata.resourceVersion, configurationBefore.metadata.resourceVersion);
});

test("helm uninstall removes every object of the release and keeps the webhook's Secret, as the chart README says", async (t) => {
  const objects = await helm.manifest(release, releaseNamespace);
  const secretBefore = await get<Secret>(`${secretsPath}/${secretName}`);
  const { ms } = await timedHelm(["uninstall", release, "--namespace", releaseNamespace]);
  t.diagnostic(`helm uninstall took ${ms} ms`);

  const statuses = [];
  for (const object of objects) {
    const res = await startedCluster().client.get(objectPath(object));
    statuses.push(`${object.kind}/${object.metadata.name}: ${res.status}`);
  }
  assert.deepEqual(
    statuses,
    objects.map((o) => `${o.kind}/${o.metadata.name}: 404`),
  );
  assert.deepEqual(await helmReleases(), []);

  // README, Uninstall: "self-managed mode only: the webhook created this Secret, so Helm does not remove it".
  // It is the only Secret left (helm's release records are gone), unchanged, and has no owner through which
  // a real cluster's garbage collector (absent here) would delete it after all.
  const secrets = await get<{ items: Secret[] }>(secretsPath);
  assert.deepEqual(
    secrets.items.map((s) => s.metadata.name),
    [secretName],
  );
  const secretAfter = await get<Secret>(`${secretsPath}/${secretName}`);
  assert.equal(secretAfter.metadata.resourceVersion, secretBefore.metadata.resourceVersion);
  assert.equal(secretAfter.metadata.ownerReferences, undefined);
  // helm never deletes the namespace --create-namespace made.
  assert.equal((await startedCluster().client.get(`/api/v1/namespaces/${releaseNamespace}`)).status, 200);
});

test("after helm uninstall pods are created without credentials and never sent to the still-running webhook", async (t) => {
  const running = webhook;
  if (running === undefined) throw new Error("the webhook is not running");
  // The process and its EndpointSlice are still there, as a deleted Deployment's pods linger while they
  // terminate; with the release's MutatingWebhookConfiguration gone nothing sends pods to them.
  await eventually("the API server stops calling the webhook", apiServerMutates, (mutates) => !mutates);
  assert.deepEqual(credentials(await createReaderPod("reader-after-uninstall")), {
    env: { app: undefined },
    token: undefined,
    tokenMounted: false,
  });
  assert.ok(!(await running.reviewedPods(appNamespace)).includes("reader-after-uninstall"));
  const stopped = await stopWebhook();
  t.diagnostic(`webhook stopped after uninstall in ${stopped.ms} ms, exit ${stopped.exit}`);
});
