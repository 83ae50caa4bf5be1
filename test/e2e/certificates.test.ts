// The self-managed certificate mode for real: two webhook processes with the chart's arguments and RBAC share
// one Secret, keep the caBundle of the chart's MutatingWebhookConfiguration, and the API server calls them through it.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Deployment, MutatingWebhook, MutatingWebhookConfiguration } from "../chart/kinds.js";
import { findObject, renderChart } from "../chart/render.js";
import { freePort } from "../support/ports.js";
import { submitObject } from "./chart-support/chart-objects.js";
import { jsonPatch } from "./chart-support/json-patch.js";
import {
  httpsGet,
  launchSelfManagedWebhook,
  type SelfManagedWebhook,
  servedCertificate,
} from "./chart-support/self-managed-webhook.js";
import { writeServiceAccountKubeconfig } from "./chart-support/service-account-kubeconfig.js";
import { startCluster, type TestCluster } from "./cluster/cluster.js";
import { eventually } from "./support/eventually.js";

const releaseNamespace = "iam";
const appNamespace = "apps";
const roleArn = "arn:aws:iam::111122223333:role/s3-reader";
const configurationsPath = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";
const rbacKinds = new Set(["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]);

interface Secret {
  metadata: { name: string; resourceVersion: string };
  type: string;
  data: Record<string, string>;
}

interface StoredConfiguration {
  metadata: { resourceVersion: string };
  webhooks: (Omit<MutatingWebhook, "clientConfig"> & { clientConfig: { url?: string; caBundle?: string } })[];
}

interface StoredPod {
  spec: {
    volumes?: { name: string; projected?: { sources: { serviceAccountToken?: unknown }[] } }[];
    containers: {
      name: string;
      env?: { name: string; value?: string }[];
      volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
    }[];
  };
}

let cluster: TestCluster | undefined;
const webhooks: SelfManagedWebhook[] = [];
let secretName = "";
let configurationName = "";

/** The value of `--name=value` among the chart's arguments. */
function chartFlag(args: readonly string[], name: string): string {
  const arg = args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) throw new Error(`the chart does not pass --${name}: ${args.join(" ")}`);
  return arg.slice(name.length + 3);
}

before(async () => {
  cluster = await startCluster();
  await cluster.createNamespace(releaseNamespace);
  const objects = await renderChart({}, { namespace: releaseNamespace });
  const podSpec = findObject<Deployment>(objects, "Deployment").spec.template.spec;
  const [subcommand, ...chartArgs] = podSpec.containers[0]?.args ?? [];
  assert.equal(subcommand, "serve");
  assert.equal(chartFlag(chartArgs, "cert-mode"), "self-managed");
  secretName = chartFlag(chartArgs, "cert-secret-name");
  configurationName = chartFlag(chartArgs, "webhook-config-name");

  // The processes run as the chart's ServiceAccount, so its RBAC must be enough for all they do below.
  for (const object of objects.filter((o) => rbacKinds.has(o.kind))) {
    assert.equal(await submitObject(cluster.client, object, releaseNamespace, { dryRun: false }), undefined);
  }
  const kubeconfigPath = join(cluster.dir, "webhook-kubeconfig");
  await writeServiceAccountKubeconfig(
    cluster,
    { namespace: releaseNamespace, name: podSpec.serviceAccountName ?? "" },
    kubeconfigPath,
  );

  const ports = [await freePort(), await freePort()];
  // The chart's configuration as rendered (no caBundle yet), calling the first process: the API server
  // cannot reach a Service here.
  const rendered = findObject<MutatingWebhookConfiguration>(objects, "MutatingWebhookConfiguration");
  await cluster.client.request("POST", configurationsPath, {
    ...rendered,
    webhooks: rendered.webhooks.map((webhook) => ({
      ...webhook,
      clientConfig: { url: `https://localhost:${ports[0]}/mutate` },
    })),
  });

  for (const [i, port] of ports.entries()) {
    webhooks.push(
      await launchSelfManagedWebhook({
        chartArgs,
        kubeconfigPath,
        port,
        logPath: join(cluster.dir, `webhook-${i}.log`),
      }),
    );
  }
  await Promise.all(webhooks.map((webhook) => webhook.ready()));
});

after(async () => {
  await Promise.all(webhooks.map((webhook) => webhook.stop()));
  await cluster?.stop();
});

function startedCluster(): TestCluster {
  if (cluster === undefined) throw new Error("the cluster did not start");
  return cluster;
}

async function readSecret(): Promise<Secret> {
  return startedCluster().client.request<Secret>(
    "GET",
    `/api/v1/namespaces/${releaseNamespace}/secrets/${secretName}`,
  );
}

async function readConfiguration(): Promise<StoredConfiguration> {
  return startedCluster().client.request<StoredConfiguration>(
    "GET",
    `${configurationsPath}/${configurationName}`,
  );
}

const decoded = (base64: string | undefined): string => Buffer.from(base64 ?? "", "base64").toString("utf8");

/** Whether the API server, admitting (dry-run) a pod of the annotated ServiceAccount, has the webhook add the token volume. */
async function apiServerMutates(): Promise<boolean> {
  const pod = await startedCluster().client.request<StoredPod>(
    "POST",
    `/api/v1/namespaces/${appNamespace}/pods?dryRun=All`,
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { generateName: "probe-" },
      spec: { serviceAccountName: "s3-reader", containers: [{ name: "app", image: "app:1" }] },
    },
  );
  return pod.spec.volumes?.some((volume) => volume.name === "aws-iam-token") ?? false;
}

test("two replicas started together create exactly one Secret, holding the CA, its key and the serving certificate", async () => {
  const list = await startedCluster().client.request<{ items: Secret[] }>(
    "GET",
    `/api/v1/namespaces/${releaseNamespace}/secrets`,
  );
  assert.deepEqual(
    list.items.map((secret) => secret.metadata.name),
    [secretName],
  );
  const secret = await readSecret();
  assert.equal(secret.type, "kubernetes.io/tls");
  assert.deepEqual(Object.keys(secret.data).sort(), ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
  const ca = new X509Certificate(decoded(secret.data["ca.crt"]));
  const leaf = new X509Certificate(decoded(secret.data["tls.crt"]));
  assert.equal(ca.ca, true);
  assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), "tls.crt is signed by ca.crt");
});

test("both replicas serve the Secret's certificate, issued for the webhook's service names", async () => {
  const stored = new X509Certificate(decoded((await readSecret()).data["tls.crt"]));
  const served = await Promise.all(webhooks.map((webhook) => servedCertificate(webhook.port)));
  assert.deepEqual(
    served.map((certificate) => certificate.fingerprint256),
    [stored.fingerprint256, stored.fingerprint256],
  );
  assert.equal(
    stored.subjectAltName,
    "DNS:localhost, DNS:localhost.iam, DNS:localhost.iam.svc, DNS:localhost.iam.svc.cluster.local",
  );
});

test("writes the Secret's CA into the caBundle, which verifies both replicas over TLS, and both are ready", async () => {
  const secret = await readSecret();
  const configuration = await readConfiguration();
  assert.deepEqual(
    configuration.webhooks.map((webhook) => ({
      url: webhook.clientConfig.url,
      caBundle: decoded(webhook.clientConfig.caBundle),
    })),
    [{ url: webhooks[0]?.mutateUrl, caBundle: decoded(secret.data["ca.crt"]) }],
    "only the caBundle was added to the clientConfig",
  );
  const caBundle = decoded(configuration.webhooks[0]?.clientConfig.caBundle);
  // A handshake that checks the chain against the caBundle and the name `localhost`, as the API server does.
  const readyz = await Promise.all(webhooks.map((webhook) => httpsGet(webhook.port, "/readyz", caBundle)));
  assert.deepEqual(
    readyz.map((res) => res.status),
    [200, 200],
  );
});

test("the API server mutates a pod of an annotated ServiceAccount through the self-managed certificate", async () => {
  const { client } = startedCluster();
  await startedCluster().createNamespace(appNamespace);
  await client.request("POST", `/api/v1/namespaces/${appNamespace}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "s3-reader", annotations: { "eks.amazonaws.com/role-arn": roleArn } },
  });
  // The chart's failurePolicy is Ignore: wait until the API server has loaded the caBundle before the real pod.
  await eventually("the API server calls the webhook", apiServerMutates, (mutates) => mutates);

  const pod = await client.request<StoredPod>("POST", `/api/v1/namespaces/${appNamespace}/pods`, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "reader" },
    spec: { serviceAccountName: "s3-reader", containers: [{ name: "app", image: "app:1" }] },
  });
  const stored = await client.request<StoredPod>("GET", `/api/v1/namespaces/${appNamespace}/pods/reader`);
  assert.deepEqual(stored.spec, pod.spec);
  assert.deepEqual(
    stored.spec.volumes?.find((volume) => volume.name === "aws-iam-token")?.projected?.sources,
    [{ serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" } }],
  );
  const [app] = stored.spec.containers;
  assert.deepEqual(
    app?.env?.filter((variable) => variable.name.startsWith("AWS_")),
    [
      { name: "AWS_ROLE_ARN", value: roleArn },
      {
        name: "AWS_WEB_IDENTITY_TOKEN_FILE",
        value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      },
    ],
  );
  assert.deepEqual(
    app?.volumeMounts?.find((mount) => mount.name === "aws-iam-token"),
    { name: "aws-iam-token", mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount", readOnly: true },
  );
});

test("writes the caBundle back within seconds after it is blanked, without issuing a new certificate", async (t) => {
  const secretBefore = await readSecret();
  const blanked = Date.now();
  await jsonPatch(startedCluster().credentials, `${configurationsPath}/${configurationName}`, [
    { op: "remove", path: "/webhooks/0/clientConfig/caBundle" },
  ]);
  await eventually(
    "the caBundle is written back",
    readConfiguration,
    (configuration) =>
      decoded(configuration.webhooks[0]?.clientConfig.caBundle) === decoded(secretBefore.data["ca.crt"]),
    10_000,
  );
  t.diagnostic(`caBundle repaired ${Date.now() - blanked} ms after it was blanked`);

  const secretAfter = await readSecret();
  assert.equal(
    secretAfter.metadata.resourceVersion,
    secretBefore.metadata.resourceVersion,
    "the Secret was not rewritten",
  );
  const readyz = await eventually(
    "both replicas are ready again",
    () =>
      Promise.all(
        webhooks.map((webhook) => httpsGet(webhook.port, "/readyz", decoded(secretAfter.data["ca.crt"]))),
      ),
    (answers) => answers.every((res) => res.status === 200),
  );
  assert.equal(readyz.length, 2);
  await eventually("the API server calls the webhook again", apiServerMutates, (mutates) => mutates);
});

test("keeps both replicas trusted through a Secret that lost ca.key: the caBundle holds the old CA and a new one", async (t) => {
  const before = await readSecret();
  const oldCa = new X509Certificate(decoded(before.data["ca.crt"]));
  const served = new X509Certificate(decoded(before.data["tls.crt"]));
  // Samples, until stopped, whether the caBundle as stored verifies each replica in a TLS handshake.
  const untrusted: string[] = [];
  let sampling = true;
  let samples = 0;
  const sampler = (async () => {
    while (sampling) {
      const caBundle = decoded((await readConfiguration()).webhooks[0]?.clientConfig.caBundle);
      for (const webhook of webhooks) {
        try {
          await httpsGet(webhook.port, "/healthz", caBundle);
        } catch (error) {
          untrusted.push(`replica on port ${webhook.port}: ${(error as Error).message}`);
        }
      }
      samples++;
    }
  })();
  try {
    await jsonPatch(
      startedCluster().credentials,
      `/api/v1/namespaces/${releaseNamespace}/secrets/${secretName}`,
      [{ op: "remove", path: "/data/ca.key" }],
    );
    // A change to the configuration makes both replicas check now rather than at their next resync.
    await jsonPatch(startedCluster().credentials, `${configurationsPath}/${configurationName}`, [
      { op: "add", path: "/metadata/labels/e2e-check", value: "ca-key-removed" },
    ]);
    const repaired = await eventually(
      "the Secret holds a CA key again",
      readSecret,
      (secret) => secret.data["ca.key"] !== undefined,
      10_000,
    );
    const bundle = decoded(repaired.data["ca.crt"]);
    const fingerprints = (
      bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
    ).map((pem) => new X509Certificate(pem).fingerprint256);
    assert.equal(fingerprints.length, 2, "a new CA, then the old one");
    assert.notEqual(fingerprints[0], oldCa.fingerprint256);
    assert.equal(fingerprints[1], oldCa.fingerprint256);
    assert.equal(
      decoded(repaired.data["tls.crt"]),
      decoded(before.data["tls.crt"]),
      "the serving certificate stays",
    );
    await eventually(
      "the caBundle is the Secret's ca.crt",
      readConfiguration,
      (configuration) => decoded(configuration.webhooks[0]?.clientConfig.caBundle) === bundle,
      10_000,
    );
    // Within the rotation grace (2 minutes) neither replica moves to a certificate of the new CA.
    const current = await Promise.all(webhooks.map((webhook) => servedCertificate(webhook.port)));
    assert.deepEqual(
      current.map((certificate) => certificate.fingerprint256),
      [served.fingerprint256, served.fingerprint256],
    );
  } finally {
    sampling = false;
    await sampler;
  }
  t.diagnostic(`${samples} samples of the caBundle and both replicas' handshakes`);
  assert.ok(samples > 0);
  assert.deepEqual(untrusted, []);
  await eventually("the API server calls the webhook", apiServerMutates, (mutates) => mutates);
});
