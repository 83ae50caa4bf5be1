import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, test } from "node:test";
import { createMetrics } from "../../src/server/metrics.js";
import { reviewJson, reviewText } from "../unit/admission/fixtures.js";
import { review, send } from "./support/https-client.js";
import { startTestWebhook } from "./support/webhook.js";

function getMetrics(port: number): Promise<{ status: number; contentType: string; text: string }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path: "/metrics" }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers["content-type"]), text }),
      );
    })
      .on("error", reject)
      .end();
  });
}

describe("metrics", () => {
  test("/metrics on its own plain-HTTP port counts reviews, cache events and the certificate's expiry", async () => {
    const webhook = await startTestWebhook({ metricsPort: 0 });
    try {
      await review(webhook, reviewText("pod-create-v1"));
      await review(webhook, reviewText("deployment-create-v1"));
      await send(webhook, { body: "{nope" });
      webhook.metrics.cacheMiss();
      webhook.metrics.liveLookup("found");
      webhook.metrics.negativeCacheHit();
      webhook.metrics.lookupRateLimited();
      webhook.metrics.lookupRateLimited();
      webhook.metrics.watchRestart("expired");

      const metricsPort = webhook.server.metricsAddress()?.port;
      assert.ok(metricsPort !== undefined && metricsPort !== webhook.port);
      const { status, contentType, text } = await getMetrics(metricsPort);
      assert.equal(status, 200);
      assert.match(contentType, /^text\/plain/);
      const expected = [
        'web_identity_webhook_reviews_total{outcome="mutated",reason="mutated"} 1',
        'web_identity_webhook_reviews_total{outcome="skipped",reason="not-a-pod"} 1',
        'web_identity_webhook_reviews_total{outcome="invalid",reason="bad-request"} 1',
        "web_identity_webhook_review_duration_seconds_count 3",
        'web_identity_webhook_review_duration_seconds_bucket{le="0.0005"}',
        "web_identity_webhook_serviceaccount_cache_size 1",
        "web_identity_webhook_serviceaccount_cache_misses_total 1",
        'web_identity_webhook_serviceaccount_live_lookups_total{outcome="found"} 1',
        "web_identity_webhook_serviceaccount_negative_cache_hits_total 1",
        "web_identity_webhook_serviceaccount_lookups_rate_limited_total 2",
        'web_identity_webhook_serviceaccount_watch_restarts_total{reason="expired"} 1',
      ];
      for (const line of expected) assert.ok(text.includes(line), `missing ${line}\n${text}`);
      // Three reviews each took some time: a sum of 0 would mean they were not timed at all.
      const durationSum = /^web_identity_webhook_review_duration_seconds_sum (\S+)$/m.exec(text)?.[1];
      assert.ok(Number(durationSum) > 0, `review duration sum ${durationSum}`);
      const expiry = /^web_identity_webhook_certificate_expiry_timestamp_seconds (\d+)$/m.exec(text)?.[1];
      const validTo = Date.parse(webhook.certificate.current()?.certificate.validTo ?? "") / 1000;
      assert.equal(Number(expiry), validTo);
    } finally {
      await webhook.stop();
    }
  });

  test("the reference webhook's metrics are served by its names, types, labels and units", async () => {
    const webhook = await startTestWebhook({ metricsPort: 0 });
    try {
      await review(webhook, reviewText("pod-create-v1"));
      const missing = reviewJson("pod-create-v1");
      (missing.request.object as { spec: { serviceAccountName: string } }).spec.serviceAccountName = "nobody";
      await review(webhook, JSON.stringify(missing));
      await review(webhook, reviewText("deployment-create-v1"));
      await send(webhook, { body: "{nope" });

      const metricsPort = webhook.server.metricsAddress()?.port ?? 0;
      const { text } = await getMetrics(metricsPort);
      const expected = [
        "# TYPE pod_identity_webhook_pod_count counter",
        'pod_identity_webhook_pod_count{method="sts_web_identity"} 1',
        "# TYPE pod_identity_webhook_missing_sa_count counter",
        "pod_identity_webhook_missing_sa_count 1",
        "# TYPE pod_identity_webhook_used gauge",
        "pod_identity_webhook_used 1",
        "# TYPE http_request_count counter",
        'http_request_count{verb="POST",path="/mutate",code="200"} 3',
        'http_request_count{verb="POST",path="/mutate",code="400"} 1',
        "# TYPE http_request_latencies histogram",
        'http_request_latencies_bucket{le="125000",verb="POST",path="/mutate"} 4',
        'http_request_latencies_bucket{le="8000000",verb="POST",path="/mutate"} 4',
        'http_request_latencies_count{verb="POST",path="/mutate"} 4',
        "# TYPE http_request_duration_microseconds summary",
        'http_request_duration_microseconds_count{verb="POST",path="/mutate"} 4',
      ];
      for (const line of expected) assert.ok(text.includes(line), `missing ${line}\n${text}`);
      // Microseconds, as the reference's: four local reviews take more than 4 µs and less than 125 ms each.
      const sum = Number(
        /^http_request_latencies_sum\{verb="POST",path="\/mutate"\} (\S+)$/m.exec(text)?.[1],
      );
      assert.ok(sum > 4 && sum < 500000, `http_request_latencies_sum ${sum}`);
      // The reference's summary has no quantiles, only _sum and _count.
      assert.doesNotMatch(text, /http_request_duration_microseconds\{.*quantile=/);
    } finally {
      await webhook.stop();
    }
  });

  test("the default registry also carries process metrics", async () => {
    const text = await createMetrics().registry.metrics();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });
});
