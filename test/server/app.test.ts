import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineOptions } from "../../src/mutation/options.js";
import { defaultEngineOptions } from "../../src/mutation/options.js";
import { type AppDeps, buildApp } from "../../src/server/app.js";
import { createMetrics } from "../../src/server/metrics.js";
import { reviewText } from "../unit/admission/fixtures.js";
import { FakeServiceAccountSource } from "./support/fake-serviceaccount-source.js";
import { defaultAdmissionLimits } from "./support/limits.js";
import { captureLog } from "./support/log-capture.js";
import { appServiceAccount } from "./support/webhook.js";

function deps(overrides: Partial<AppDeps> = {}): AppDeps {
  return {
    options: defaultEngineOptions,
    source: new FakeServiceAccountSource([appServiceAccount]),
    logger: captureLog().logger,
    metrics: createMetrics({ defaultMetrics: false }),
    maxBodyBytes: 1024 * 1024,
    ...defaultAdmissionLimits,
    lookupTimeoutMs: 2000,
    isCertificateLoaded: () => true,
    ...overrides,
  };
}

const reviewRequest = {
  method: "POST",
  url: "/mutate",
  headers: { "content-type": "application/json" },
  payload: reviewText("pod-create-v1"),
} as const;

describe("buildApp", () => {
  test("admits the pod with a warning, and logs an error, when the engine throws", async () => {
    const log = captureLog();
    const app = buildApp(deps({ logger: log.logger, options: null as unknown as EngineOptions }));
    try {
      const answer = await app.inject(reviewRequest);
      assert.equal(answer.statusCode, 200);
      const { response } = answer.json() as {
        response: { allowed: boolean; patch?: string; warnings: string[] };
      };
      assert.equal(response.allowed, true);
      assert.equal(response.patch, undefined);
      assert.match(
        response.warnings[0] ?? "",
        /^web-identity-webhook failed to decide on this pod \(.+\); pod admitted without AWS credentials injection$/,
      );
      const line = log.lines().at(-1);
      assert.equal(line?.level, 50);
      assert.equal(line?.reason, "internal-error");
    } finally {
      await app.close();
    }
  });

  test("answers an unexpected failure with a bare 500 and keeps the detail in the log", async () => {
    const log = captureLog();
    const source = new FakeServiceAccountSource();
    source.isReady = () => {
      throw new Error("secret detail at /srv/app.js:12");
    };
    const app = buildApp(deps({ logger: log.logger, source }));
    try {
      const answer = await app.inject({ method: "GET", url: "/readyz" });
      assert.equal(answer.statusCode, 500);
      assert.deepEqual(answer.json(), { error: "internal error; see the webhook's log" });
      assert.equal(log.lines().at(-1)?.msg, "request failed");
    } finally {
      await app.close();
    }
  });

  test("counts rejected requests as invalid, by reason", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const app = buildApp(deps({ metrics, maxBodyBytes: 1024 }));
    try {
      await app.inject({ ...reviewRequest, payload: "[]" });
      await app.inject({ ...reviewRequest, headers: { "content-type": "text/plain" } });
      await app.inject({ ...reviewRequest, payload: `{"pad":"${"x".repeat(2048)}"}` });
      const text = await metrics.registry.metrics();
      for (const reason of ["invalid-review", "unsupported-media-type", "body-too-large"]) {
        assert.ok(
          text.includes(`web_identity_webhook_reviews_total{outcome="invalid",reason="${reason}"} 1`),
          reason,
        );
      }
    } finally {
      await app.close();
    }
  });

  test("ends each connection with its answer once closing has begun, so kept-alive sockets do not hold shutdown", async () => {
    const source = new FakeServiceAccountSource([appServiceAccount]);
    source.delayMs = 100;
    const app = buildApp(deps({ source }));
    await app.ready();
    const inFlight = app.inject(reviewRequest);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closed = app.close();
    const answer = await inFlight;
    await closed;
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.headers.connection, "close");
  });
});
