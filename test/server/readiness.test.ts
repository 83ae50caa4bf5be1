import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { defaultEngineOptions } from "../../src/mutation/options.js";
import { buildApp } from "../../src/server/app.js";
import { createMetrics } from "../../src/server/metrics.js";
import { FakeServiceAccountSource } from "./support/fake-serviceaccount-source.js";
import { send } from "./support/https-client.js";
import { defaultAdmissionLimits } from "./support/limits.js";
import { captureLog } from "./support/log-capture.js";
import { startTestWebhook } from "./support/webhook.js";

describe("readiness", () => {
  test("/readyz answers 503 until the ServiceAccounts are loaded, then 200, over HTTPS", async () => {
    const source = new FakeServiceAccountSource([], { ready: false });
    const webhook = await startTestWebhook({ source });
    try {
      const before = await send(webhook, { path: "/readyz" });
      assert.equal(before.status, 503);
      assert.deepEqual(before.json(), {
        status: "not ready",
        error: "not ready: ServiceAccounts are not loaded yet (the first list has not finished)",
      });
      assert.equal((await send(webhook, { path: "/healthz" })).status, 200);
      await source.start();
      const afterStart = await send(webhook, { path: "/readyz" });
      assert.equal(afterStart.status, 200);
      assert.deepEqual(afterStart.json(), { status: "ready" });
    } finally {
      await webhook.stop();
    }
  });

  test("/readyz names every missing piece: ServiceAccounts and the serving certificate", async () => {
    let certificateLoaded = false;
    const app = buildApp({
      options: defaultEngineOptions,
      source: new FakeServiceAccountSource([], { ready: false }),
      logger: captureLog().logger,
      metrics: createMetrics({ defaultMetrics: false }),
      maxBodyBytes: 1024 * 1024,
      ...defaultAdmissionLimits,
      lookupTimeoutMs: 2000,
      isCertificateLoaded: () => certificateLoaded,
    });
    try {
      const answer = await app.inject({ method: "GET", url: "/readyz" });
      assert.equal(answer.statusCode, 503);
      assert.deepEqual(answer.json(), {
        status: "not ready",
        error:
          "not ready: ServiceAccounts are not loaded yet (the first list has not finished); no serving certificate is loaded",
      });
      certificateLoaded = true;
      assert.match(
        (await app.inject({ method: "GET", url: "/readyz" })).body,
        /^\{"status":"not ready","error":"not ready: ServiceAccounts/,
      );
    } finally {
      await app.close();
    }
  });

  test("/readyz waits, when asked, until the caBundle trusts the certificate", async () => {
    let trusted = false;
    const app = buildApp({
      options: defaultEngineOptions,
      source: new FakeServiceAccountSource([]),
      logger: captureLog().logger,
      metrics: createMetrics({ defaultMetrics: false }),
      maxBodyBytes: 1024 * 1024,
      ...defaultAdmissionLimits,
      lookupTimeoutMs: 2000,
      isCertificateLoaded: () => true,
      isCertificateTrusted: () => trusted,
    });
    try {
      const before = await app.inject({ method: "GET", url: "/readyz" });
      assert.equal(before.statusCode, 503);
      assert.deepEqual(before.json(), {
        status: "not ready",
        error: "not ready: the webhook configuration's caBundle does not trust the serving certificate yet",
      });
      trusted = true;
      assert.equal((await app.inject({ method: "GET", url: "/readyz" })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});
