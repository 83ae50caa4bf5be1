// What happens to pod creation when the webhook or the API server goes away, under the chart's failure policies.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { E2eEnvironment } from "./support/environment.js";
import { startEnvironment } from "./support/environment.js";
import { eventually } from "./support/eventually.js";
import { metricValue } from "./support/metrics.js";
import {
  byContainer,
  comparableSpec,
  container,
  type Pod,
  pod,
  storedTokenVolume,
  tokenVolume,
  webIdentityEnv,
  withIdentity,
} from "./support/pods.js";
import { patched } from "./support/webhook-client.js";
import { optInValuesFile } from "./support/webhook-configuration.js";

const roleArn = "arn:aws:iam::111122223333:role/orders";
const watchRestarts = "web_identity_webhook_serviceaccount_watch_restarts_total";
const cacheMisses = "web_identity_webhook_serviceaccount_cache_misses_total";

let env: E2eEnvironment;
before(async () => {
  env = await startEnvironment();
});
after(async () => {
  await env?.stop();
});

/** The label the rendered opt-in configuration requires (the chart's objectSelector `In` term). */
function optInLabel(): Record<string, string> {
  const webhook = env.configuration().webhooks[0];
  const term = webhook?.objectSelector.matchExpressions?.find((e) => e.operator === "In");
  const value = term?.values?.[0];
  if (term === undefined || value === undefined)
    throw new Error("the opt-in configuration has no In selector");
  return { [term.key]: value };
}

test("admits pods without credentials while the webhook is down, under the chart's default failurePolicy Ignore", async (t) => {
  t.after(async () => {
    if (!env.webhook.isRunning()) await env.webhook.start();
  });
  assert.equal(env.configuration().webhooks[0]?.failurePolicy, "Ignore");
  const namespace = await env.newNamespace("webhook-down");
  await env.createServiceAccount(namespace, "app", { "eks.amazonaws.com/role-arn": roleArn });
  const manifest = pod({ name: "orders", serviceAccountName: "app", containers: [container("app")] });

  await env.webhook.stop();
  const { pod: stored } = await env.createPod(namespace, manifest);

  assert.deepEqual(comparableSpec(stored.spec), await env.specWithoutWebhook(manifest));
});

test("in the chart's opt-in mode, refuses an opted-in pod while the webhook is down and admits the others", async (t) => {
  t.after(async () => {
    if (!env.webhook.isRunning()) await env.webhook.start();
    await env.registerChartConfiguration();
    await env.waitUntilMutating();
  });
  const configuration = await env.registerChartConfiguration({ valuesFiles: [optInValuesFile] });
  const webhookName = configuration.webhooks[0]?.name;
  assert.equal(configuration.webhooks[0]?.failurePolicy, "Fail");
  const optedIn = optInLabel();
  // The opt-in configuration is in force once a labelled pod is mutated and an unlabelled one no longer is.
  await env.waitUntilMutating(optedIn);
  await eventually(
    "unlabelled pods bypass the webhook",
    () => env.isMutating(),
    (mutating) => !mutating,
  );
  const namespace = await env.newNamespace("opt-in");
  await env.createServiceAccount(namespace, "app", { "eks.amazonaws.com/role-arn": roleArn });
  const optedInPod = pod({
    name: "opted-in",
    serviceAccountName: "app",
    labels: optedIn,
    containers: [container("app")],
  });
  const otherPod = pod({ name: "other", serviceAccountName: "app", containers: [container("app")] });

  await env.webhook.stop();
  const refused = await env.tryCreatePod(namespace, optedInPod);
  const { pod: admitted } = await env.createPod(namespace, otherPod);

  const status = refused.body as { kind?: string; code?: number; message?: string };
  assert.equal(refused.status, 500, JSON.stringify(status));
  assert.equal(status.kind, "Status");
  assert.match(status.message ?? "", new RegExp(`failed calling webhook "${webhookName}"`));
  assert.match(status.message ?? "", /connection refused/);
  assert.equal((await env.tryCreatePod(namespace, optedInPod, { dryRun: true })).status, 500);
  assert.deepEqual(comparableSpec(admitted.spec), await env.specWithoutWebhook(otherPod));
});

test("answers from its cache while the API server is down, and follows ServiceAccount changes once it is back", async (t) => {
  t.after(async () => {
    if (env.cluster.pids().apiServer === undefined) await env.cluster.startApiServer();
  });
  const namespace = await env.newNamespace("apiserver-restart");
  await env.createServiceAccount(namespace, "cached", { "eks.amazonaws.com/role-arn": roleArn });
  const cachedPod = pod({ name: "orders", serviceAccountName: "cached", containers: [container("app")] });
  // The webhook has cached the ServiceAccount once a pod using it was mutated (a live lookup is remembered too).
  const { pod: before } = await env.createPod(namespace, cachedPod);
  assert.deepEqual(byContainer(before.spec, "env"), { app: webIdentityEnv(roleArn) });

  const watchRestartsBefore = metricValue(await env.webhook.metrics(), watchRestarts);
  await env.cluster.stopApiServer();
  const duringDowntime = await env.webhook.client.reviewPodCreate(namespace, cachedPod);
  const readyDuringDowntime = await env.webhook.client.get("/readyz");
  await env.cluster.startApiServer();

  assert.equal(duringDowntime.allowed, true);
  const patchedPod = patched(cachedPod, duringDowntime);
  assert.deepEqual(byContainer(patchedPod.spec, "env"), { app: webIdentityEnv(roleArn) });
  assert.deepEqual(patchedPod.spec.volumes, [tokenVolume("sts.amazonaws.com", 86400)]);
  assert.equal(readyDuringDowntime.status, 200, "the webhook stays ready while its cache can answer");

  // A ServiceAccount created, then a cached one changed, after the restart. The webhook reads a cached
  // ServiceAccount from its cache alone, so it only sees the new role through its re-established watch, and
  // the watch delivers events in order: once the change is seen, the new ServiceAccount is cached too.
  const newRole = `${roleArn}-v2`;
  await env.createServiceAccount(namespace, "created-after-restart", {
    "eks.amazonaws.com/role-arn": roleArn,
  });
  await setServiceAccountRole(namespace, "cached", newRole);
  await eventually(
    "the webhook sees the ServiceAccount changed after the restart",
    async () => byContainer(await reviewedSpec(namespace, cachedPod), "env"),
    (envByContainer) => JSON.stringify(envByContainer) === JSON.stringify({ app: webIdentityEnv(newRole) }),
    // Each refused reconnect during the downtime doubles the cache's retry delay (1 s up to 30 s), and the watch
    // may then need a re-list after a 410: on a loaded machine that is well over 30 s, and still correct.
    90_000,
  );
  const manifest = pod({
    name: "created-after",
    serviceAccountName: "created-after-restart",
    containers: [container("app")],
  });
  const metricsBefore = await env.webhook.metrics();
  const { pod: stored } = await env.createPod(namespace, manifest);
  const metricsAfter = await env.webhook.metrics();

  assert.deepEqual(
    comparableSpec(stored.spec),
    withIdentity(await env.specWithoutWebhook(manifest), storedTokenVolume("sts.amazonaws.com", 86400), {
      app: webIdentityEnv(roleArn),
    }),
  );
  assert.ok(metricValue(metricsAfter, watchRestarts) > watchRestartsBefore, "the watch was restarted");
  assert.equal(
    metricValue(metricsAfter, cacheMisses),
    metricValue(metricsBefore, cacheMisses),
    "the ServiceAccount created after the restart came from the cache, not a live lookup",
  );
});

/** The pod spec after the webhook's patch, from a review posted directly to it. */
async function reviewedSpec(namespace: string, manifest: Pod): Promise<Pod["spec"]> {
  return patched(manifest, await env.webhook.client.reviewPodCreate(namespace, manifest)).spec;
}

async function setServiceAccountRole(namespace: string, name: string, role: string): Promise<void> {
  const path = `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`;
  const serviceAccount = await env.cluster.client.request<{
    metadata: { annotations?: Record<string, string> };
  }>("GET", path);
  serviceAccount.metadata.annotations = {
    ...serviceAccount.metadata.annotations,
    "eks.amazonaws.com/role-arn": role,
  };
  await env.cluster.client.request("PUT", path, serviceAccount);
}
