// What pods get through the real API server: the built webhook out of cluster, registered with the chart's settings.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { decodeJwt, importSPKI, jwtVerify } from "jose";
import type { E2eEnvironment } from "./support/environment.js";
import { startEnvironment } from "./support/environment.js";
import { eventually } from "./support/eventually.js";
import { metricValue } from "./support/metrics.js";
import {
  apiAccessMount,
  byContainer,
  comparableSpec,
  container,
  type Pod,
  pod,
  storedTokenVolume,
  tokenMount,
  tokenProjection,
  webIdentityEnv,
  windowsTokenFile,
  withIdentity,
} from "./support/pods.js";
import { type SidecarWebhook, startSidecarWebhook } from "./support/sidecar-webhook.js";
import { writeWatchlessKubeconfig } from "./support/watchless-kubeconfig.js";
import {
  createWebhookConfiguration,
  deleteWebhookConfiguration,
  releaseNamespace,
} from "./support/webhook-configuration.js";

const roleArn = "arn:aws:iam::111122223333:role/orders";
const roleAnnotation = { "eks.amazonaws.com/role-arn": roleArn };
const defaultAudience = "sts.amazonaws.com";
const defaultExpiration = 86400;
const reviews = "web_identity_webhook_reviews_total";
const liveLookups = "web_identity_webhook_serviceaccount_live_lookups_total";

let env: E2eEnvironment;
before(async () => {
  env = await startEnvironment();
});
after(async () => {
  await env?.stop();
});

/** A namespace holding ServiceAccount `app` with `annotations`. */
async function namespaceWithServiceAccount(
  purpose: string,
  annotations: Record<string, string> = roleAnnotation,
): Promise<string> {
  const namespace = await env.newNamespace(purpose);
  await env.createServiceAccount(namespace, "app", annotations);
  return namespace;
}

test("gives containers, init containers and native sidecars the role's token volume, mount and environment", async () => {
  const namespace = await namespaceWithServiceAccount("containers");
  const manifest = pod({
    name: "orders",
    serviceAccountName: "app",
    initContainers: [container("migrate"), container("proxy", { restartPolicy: "Always" })],
    containers: [container("app", { env: [{ name: "LOG_LEVEL", value: "debug" }] })],
  });

  const { pod: stored } = await env.createPod(namespace, manifest);

  assert.deepEqual(stored.spec.volumes?.at(-1), {
    name: "aws-iam-token",
    projected: {
      sources: [
        { serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" } },
      ],
      defaultMode: 420,
    },
  });
  assert.deepEqual(byContainer(stored.spec, "env"), {
    migrate: [
      { name: "AWS_ROLE_ARN", value: roleArn },
      {
        name: "AWS_WEB_IDENTITY_TOKEN_FILE",
        value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      },
    ],
    proxy: [
      { name: "AWS_ROLE_ARN", value: roleArn },
      {
        name: "AWS_WEB_IDENTITY_TOKEN_FILE",
        value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      },
    ],
    app: [
      { name: "LOG_LEVEL", value: "debug" },
      { name: "AWS_ROLE_ARN", value: roleArn },
      {
        name: "AWS_WEB_IDENTITY_TOKEN_FILE",
        value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      },
    ],
  });
  assert.deepEqual(byContainer(comparableSpec(stored.spec), "volumeMounts"), {
    migrate: [apiAccessMount, tokenMount],
    proxy: [apiAccessMount, tokenMount],
    app: [apiAccessMount, tokenMount],
  });
  // Nothing else differs from the pod the API server stores without the webhook.
  assert.deepEqual(
    comparableSpec(stored.spec),
    withIdentity(
      await env.specWithoutWebhook(manifest),
      storedTokenVolume(defaultAudience, defaultExpiration),
      {
        migrate: webIdentityEnv(roleArn),
        proxy: webIdentityEnv(roleArn),
        app: webIdentityEnv(roleArn),
      },
    ),
  );
});

test("stores a pod whose ServiceAccount names no role exactly as without the webhook, without warnings", async () => {
  const namespace = await namespaceWithServiceAccount("no-role", { "example.com/owner": "orders-team" });
  const manifest = pod({
    name: "orders",
    serviceAccountName: "app",
    initContainers: [container("migrate")],
    containers: [container("app")],
  });

  const { pod: stored, warnings } = await env.createPod(namespace, manifest);

  assert.deepEqual(comparableSpec(stored.spec), await env.specWithoutWebhook(manifest));
  assert.deepEqual(warnings, []);
});

test("mutates pods whose ServiceAccount was created just before them, looking it up live (the Helm race)", async (t) => {
  // The real watch delivers a new ServiceAccount within milliseconds, before the pod that follows reaches the
  // webhook. A webhook that may not watch has every later ServiceAccount missing from its cache, as when the
  // watch lags, so each review below has to take the live-GET path.
  const kubeconfigPath = join(env.cluster.dir, "watchless.kubeconfig");
  await writeWatchlessKubeconfig(env.cluster, releaseNamespace, kubeconfigPath);
  const watchless = await env.startAnotherWebhook("webhook-without-watch", kubeconfigPath);
  t.after(async () => {
    await env.registerChartConfiguration();
    await watchless.stop();
    await env.waitUntilMutating();
  });
  await env.registerChartConfiguration({}, watchless);
  await eventually(
    "the API server calls the webhook without watch",
    async () => (await env.isMutating()) && metricValue(await watchless.metrics(), reviews) > 0,
    (called) => called,
  );
  const namespace = await env.newNamespace("helm-race");
  const names = ["api", "worker", "cron", "migrations", "ui"];
  const metricsBefore = await watchless.metrics();

  const stored = await Promise.all(
    names.map(async (name) => {
      await env.createServiceAccount(namespace, name, { "eks.amazonaws.com/role-arn": `${roleArn}-${name}` });
      const manifest = pod({ name, serviceAccountName: name, containers: [container(name)] });
      return (await env.createPod(namespace, manifest)).pod;
    }),
  );

  assert.deepEqual(
    stored.map((p) => byContainer(p.spec, "env")),
    names.map((name) => ({ [name]: webIdentityEnv(`${roleArn}-${name}`) })),
  );
  const metricsAfter = await watchless.metrics();
  const foundLive = (text: string) => metricValue(text, liveLookups, { outcome: "found" });
  assert.equal(foundLive(metricsAfter) - foundLive(metricsBefore), names.length);
});

test("leaves the containers named in the pod's skip-containers annotation untouched", async () => {
  const namespace = await namespaceWithServiceAccount("skip");
  const manifest = pod({
    name: "orders",
    serviceAccountName: "app",
    annotations: { "eks.amazonaws.com/skip-containers": "istio-proxy, istio-init" },
    initContainers: [container("istio-init")],
    containers: [container("app"), container("istio-proxy")],
  });

  const { pod: stored } = await env.createPod(namespace, manifest);

  assert.deepEqual(
    comparableSpec(stored.spec),
    withIdentity(
      await env.specWithoutWebhook(manifest),
      storedTokenVolume(defaultAudience, defaultExpiration),
      {
        app: webIdentityEnv(roleArn),
      },
    ),
  );
});

test("keeps a container's own AWS variables over the injected ones", async () => {
  const namespace = await namespaceWithServiceAccount("own-env");
  const ownRole = { name: "AWS_ROLE_ARN", value: "arn:aws:iam::444455556666:role/own" };
  const ownRegion = { name: "AWS_REGION", value: "ap-southeast-2" };
  const ownSts = { name: "AWS_STS_REGIONAL_ENDPOINTS", value: "legacy" };
  const manifest = pod({
    name: "orders",
    serviceAccountName: "app",
    containers: [
      container("own-role", { env: [ownRole] }),
      container("own-token-file", { env: [{ name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: "/token" }] }),
      // Every group of AWS variables set: the container manages its own credentials, so it gets no mount either.
      container("all-own", { env: [ownRole, ownRegion, ownSts] }),
      container("plain", { env: [ownRegion] }),
    ],
  });

  const { pod: stored } = await env.createPod(namespace, manifest);

  assert.deepEqual(byContainer(stored.spec, "env"), {
    "own-role": [ownRole],
    "own-token-file": [{ name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: "/token" }],
    "all-own": [ownRole, ownRegion, ownSts],
    plain: [ownRegion, ...webIdentityEnv(roleArn)],
  });
  assert.deepEqual(byContainer(comparableSpec(stored.spec), "volumeMounts"), {
    "own-role": [apiAccessMount, tokenMount],
    "own-token-file": [apiAccessMount, tokenMount],
    "all-own": [apiAccessMount],
    plain: [apiAccessMount, tokenMount],
  });
});

test("projects the token with the lifetime of the pod's token-expiration annotation", async () => {
  const namespace = await namespaceWithServiceAccount("expiration", {
    ...roleAnnotation,
    "eks.amazonaws.com/token-expiration": "43200",
  });
  const manifest = pod({
    name: "orders",
    serviceAccountName: "app",
    annotations: { "eks.amazonaws.com/token-expiration": "3600" },
    containers: [container("app")],
  });

  const { pod: stored, warnings } = await env.createPod(namespace, manifest);

  assert.deepEqual(stored.spec.volumes?.at(-1), storedTokenVolume(defaultAudience, 3600));
  assert.deepEqual(warnings, []);
});

test("points AWS_WEB_IDENTITY_TOKEN_FILE at the Windows path for a pod that selects Windows nodes", async () => {
  const namespace = await namespaceWithServiceAccount("windows");
  const manifest = pod({
    name: "orders",
    serviceAccountName: "app",
    nodeSelector: { "kubernetes.io/os": "windows" },
    containers: [container("app")],
  });

  const { pod: stored } = await env.createPod(namespace, manifest);

  assert.deepEqual(byContainer(stored.spec, "env"), {
    app: [
      { name: "AWS_ROLE_ARN", value: roleArn },
      {
        name: "AWS_WEB_IDENTITY_TOKEN_FILE",
        value: "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token",
      },
    ],
  });
  assert.deepEqual(
    comparableSpec(stored.spec),
    withIdentity(
      await env.specWithoutWebhook(manifest),
      storedTokenVolume(defaultAudience, defaultExpiration),
      {
        app: webIdentityEnv(roleArn, windowsTokenFile),
      },
    ),
  );
});

test("mutates a pod created with generateName", async () => {
  const namespace = await namespaceWithServiceAccount("generate-name");
  const manifest = pod({
    generateName: "orders-",
    serviceAccountName: "app",
    containers: [container("app")],
  });

  const { pod: stored } = await env.createPod(namespace, manifest);

  assert.match(stored.metadata.name ?? "", /^orders-[a-z0-9]{5}$/);
  assert.deepEqual(
    comparableSpec(stored.spec),
    withIdentity(
      await env.specWithoutWebhook(manifest),
      storedTokenVolume(defaultAudience, defaultExpiration),
      {
        app: webIdentityEnv(roleArn),
      },
    ),
  );
});

test("gives a container added by a later webhook the token too, by being reinvoked", async (t) => {
  const sidecarWebhook: SidecarWebhook = await startSidecarWebhook(env.certificate);
  t.after(async () => {
    await deleteWebhookConfiguration(env.cluster.client, sidecarWebhook.configuration().metadata.name);
    await sidecarWebhook.close();
  });
  assert.ok(
    sidecarWebhook.configuration().metadata.name > env.configuration().metadata.name,
    "the sidecar webhook's configuration sorts after ours, so the API server calls it second",
  );
  assert.equal(env.configuration().webhooks[0]?.reinvocationPolicy, "IfNeeded");
  await createWebhookConfiguration(env.cluster.client, sidecarWebhook.configuration());
  const labels = { [sidecarWebhook.podLabel]: "true" };
  const namespace = await namespaceWithServiceAccount("reinvocation");
  const manifest = pod({ name: "orders", serviceAccountName: "app", labels, containers: [container("app")] });
  await eventually(
    "the API server calls the sidecar webhook",
    async () => (await env.tryCreatePod(namespace, manifest, { dryRun: true })).body as Pod,
    (dryRun) => dryRun.spec?.containers?.length === 2,
  );

  const { pod: stored } = await env.createPod(namespace, manifest);

  assert.deepEqual(
    stored.spec.containers.map((c) => c.name),
    ["app", sidecarWebhook.sidecar.name],
  );
  assert.deepEqual(byContainer(stored.spec, "env"), {
    app: webIdentityEnv(roleArn),
    [sidecarWebhook.sidecar.name]: webIdentityEnv(roleArn),
  });
  assert.deepEqual(
    comparableSpec(stored.spec),
    withIdentity(
      await env.specWithoutWebhook(manifest),
      storedTokenVolume(defaultAudience, defaultExpiration),
      {
        app: webIdentityEnv(roleArn),
        [sidecarWebhook.sidecar.name]: webIdentityEnv(roleArn),
      },
    ),
  );
});

test("the API server issues, for the injected volume, a token with the issuer, audience, subject and lifetime promised", async () => {
  const namespace = await namespaceWithServiceAccount("token", {
    ...roleAnnotation,
    "eks.amazonaws.com/audience": "sts.amazonaws.com",
  });
  const { pod: stored } = await env.createPod(
    namespace,
    pod({
      name: "orders",
      serviceAccountName: "app",
      annotations: { "eks.amazonaws.com/token-expiration": "7200" },
      containers: [container("app")],
    }),
  );
  const projection = tokenProjection(stored.spec);
  assert.deepEqual(projection, { audience: "sts.amazonaws.com", expirationSeconds: 7200, path: "token" });

  // What the kubelet asks for when it fills the projected volume: a token bound to the pod.
  const requestedAt = Math.floor(Date.now() / 1000);
  const tokenRequest = await env.cluster.client.request<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/app/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        audiences: [projection.audience],
        expirationSeconds: projection.expirationSeconds,
        boundObjectRef: {
          apiVersion: "v1",
          kind: "Pod",
          name: stored.metadata.name,
          uid: stored.metadata.uid,
        },
      },
    },
  );
  const token = tokenRequest.status.token;

  const claims = decodeJwt(token);
  assert.equal(claims.iss, env.cluster.issuer);
  assert.deepEqual(claims.aud, ["sts.amazonaws.com"]);
  assert.equal(claims.sub, `system:serviceaccount:${namespace}:app`);
  assert.ok(
    Math.abs((claims.exp ?? 0) - (requestedAt + 7200)) <= 5,
    `exp ${claims.exp} is about ${requestedAt} + 7200`,
  );
  const publicKey = await importSPKI(await readFile(env.cluster.saPublicKeyPath, "utf8"), "RS256");
  const verified = await jwtVerify(token, publicKey, {
    issuer: env.cluster.issuer,
    audience: "sts.amazonaws.com",
    subject: `system:serviceaccount:${namespace}:app`,
  });
  assert.equal(verified.protectedHeader.alg, "RS256");
});

const warningCases: {
  name: string;
  annotations: Record<string, string>;
  warnings: string[];
  mutated: boolean;
}[] = [
  {
    // Quotes kept by a YAML mistake; they also travel escaped through the Warning header and back.
    name: "a role-arn that is not an ARN",
    annotations: { "eks.amazonaws.com/role-arn": `"${roleArn}"` },
    warnings: [
      `ServiceAccount app: eks.amazonaws.com/role-arn "\\"${roleArn}\\"" is not an IAM role ARN; use arn:aws:iam::<12-digit account>:role/<name>`,
    ],
    mutated: true,
  },
  {
    name: "a role-arn under a misspelt prefix",
    annotations: { "eks.amazon.com/role-arn": roleArn },
    warnings: [
      'ServiceAccount app: annotation "eks.amazon.com/role-arn" is not read; did you mean eks.amazonaws.com/role-arn?',
    ],
    mutated: false,
  },
];

for (const warningCase of warningCases) {
  test(`returns a Warning header to the client that creates a pod whose ServiceAccount has ${warningCase.name}`, async () => {
    const namespace = await namespaceWithServiceAccount("warnings", warningCase.annotations);

    const { pod: stored, warnings } = await env.createPod(
      namespace,
      pod({ name: "orders", serviceAccountName: "app", containers: [container("app")] }),
    );

    assert.deepEqual(warnings, warningCase.warnings);
    assert.equal(
      stored.spec.volumes?.some((v) => v.name === "aws-iam-token"),
      warningCase.mutated,
    );
  });
}
