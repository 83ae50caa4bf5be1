// Cache misses against the real API server: a missing ServiceAccount is remembered until the watch adds it, and
// reviews naming random ServiceAccounts (anyone who reaches port 8443 can send them) cannot flood it with GETs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { freePort } from "../support/ports.js";
import type { E2eEnvironment } from "./support/environment.js";
import { startEnvironment } from "./support/environment.js";
import { eventually } from "./support/eventually.js";
import { metricValue } from "./support/metrics.js";
import { container, pod, webIdentityEnv } from "./support/pods.js";
import { type AdmissionResponse, patched } from "./support/webhook-client.js";
import { startWebhookProcess, type WebhookProcess } from "./support/webhook-process.js";

const roleArn = "arn:aws:iam::111122223333:role/late";
const liveLookups = "web_identity_webhook_serviceaccount_live_lookups_total";
const negativeHits = "web_identity_webhook_serviceaccount_negative_cache_hits_total";
const rateLimited = "web_identity_webhook_serviceaccount_lookups_rate_limited_total";
const lookupRate = 20;
/** A negative cache TTL far beyond the watch's delay, so an answer before it can only come from the watch. */
const negativeCacheTtlMs = 60_000;

let env: E2eEnvironment;
let webhook: WebhookProcess | undefined;
before(async () => {
  env = await startEnvironment();
  webhook = await startWebhookProcess({
    kubeconfigPath: env.cluster.kubeconfigPath,
    certificate: env.certificate,
    port: await freePort(),
    metricsPort: await freePort(),
    dir: env.cluster.dir,
    logName: "webhook-lookups",
    extraArgs: [`--lookup-rate=${lookupRate}`, `--negative-cache-ttl=${negativeCacheTtlMs}`],
  });
});
after(async () => {
  await webhook?.stop();
  await env?.stop();
});

function started(): WebhookProcess {
  assert.ok(webhook, "the webhook did not start (see the before hook's error)");
  return webhook;
}

function appPod(serviceAccountName: string) {
  return pod({ name: "app", serviceAccountName, containers: [container("app")] });
}

function envOf(manifest: ReturnType<typeof appPod>, response: AdmissionResponse): unknown {
  return patched(manifest, response).spec.containers[0]?.env;
}

test("a ServiceAccount a GET found missing gets credentials as soon as the watch adds it, not after the TTL", async () => {
  const target = started();
  const namespace = await env.newNamespace("negative");
  const manifest = appPod("late");
  const before = await target.metrics();

  for (let i = 0; i < 3; i++) {
    const answer = await target.client.reviewPodCreate(namespace, manifest);
    assert.equal(answer.allowed, true);
    assert.equal(envOf(manifest, answer), undefined, "no ServiceAccount, no credentials");
  }
  const missing = await target.metrics();
  assert.equal(
    metricValue(missing, liveLookups, { outcome: "not-found" }) -
      metricValue(before, liveLookups, { outcome: "not-found" }),
    1,
    "one GET for three reviews",
  );
  assert.equal(metricValue(missing, negativeHits) - metricValue(before, negativeHits), 2);

  await env.createServiceAccount(namespace, "late", { "eks.amazonaws.com/role-arn": roleArn });
  const createdAt = Date.now();
  const answer = await eventually(
    "the watch's ADDED ends the negative entry",
    () => target.client.reviewPodCreate(namespace, manifest),
    (response) => envOf(manifest, response) !== undefined,
    10_000,
  );
  const foundAfterMs = Date.now() - createdAt;
  console.log(`found ${foundAfterMs} ms after the ServiceAccount was created`);
  assert.ok(foundAfterMs < negativeCacheTtlMs / 2, "found well before the TTL ran out");
  assert.deepEqual(envOf(manifest, answer), webIdentityEnv(roleArn));
  const found = await target.metrics();
  assert.equal(
    metricValue(found, liveLookups),
    metricValue(missing, liveLookups),
    "found in the cache the watch filled, without another GET",
  );
});

test("5,000 reviews naming random ServiceAccounts make at most the rate limit's worth of GETs", async () => {
  const target = started();
  const namespace = await env.newNamespace("random-names");
  const before = await target.metrics();
  const total = 5000;
  const concurrency = 50;
  const warnings: string[] = [];
  let sent = 0;
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < total) {
        sent++;
        const answer = await target.client.reviewPodCreate(namespace, appPod(`random-${randomUUID()}`));
        assert.equal(answer.allowed, true);
        assert.equal(answer.patch, undefined);
        warnings.push(...(answer.warnings ?? []));
      }
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  const afterFlood = await target.metrics();
  const gets = metricValue(afterFlood, liveLookups) - metricValue(before, liveLookups);
  const refused = metricValue(afterFlood, rateLimited) - metricValue(before, rateLimited);
  const allowed = 2 * lookupRate + lookupRate * Math.ceil(seconds);
  console.log(`${total} random names in ${seconds.toFixed(1)} s: ${gets} GETs, ${refused} refused`);
  assert.ok(gets <= allowed, `${gets} GETs in ${seconds.toFixed(1)} s; the limit allows ${allowed}`);
  assert.equal(gets + refused, total, "every review was a miss that either made a GET or was refused");
  assert.equal(
    warnings.filter((warning) =>
      warning.includes("live lookup refused: more cache misses than --lookup-rate allows"),
    ).length,
    refused,
    "each refused review says why",
  );
});
