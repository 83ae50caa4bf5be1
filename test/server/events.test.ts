import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EventRecorder } from "../../src/events/recorder.js";
import { defaultEngineOptions } from "../../src/mutation/options.js";
import { type AppDeps, buildApp } from "../../src/server/app.js";
import { createMetrics } from "../../src/server/metrics.js";
import { systemClock } from "../../src/serviceaccounts/clock.js";
import { reviewJson } from "../unit/admission/fixtures.js";
import { CountingReports, RecordingEventApi } from "../unit/events/recording-api.js";
import { until } from "../unit/serviceaccounts/fake-clock.js";
import { FakeServiceAccountSource } from "./support/fake-serviceaccount-source.js";
import { defaultAdmissionLimits } from "./support/limits.js";
import { captureLog } from "./support/log-capture.js";

/** A pod of ReplicaSet app-7d4b9 whose ServiceAccount's role-arn key has a typo: admitted with a warning. */
function nearMissReview(uid: string): string {
  const review = reviewJson("pod-create-v1");
  review.request.uid = uid;
  const pod = review.request.object as { metadata: Record<string, unknown> };
  pod.metadata.ownerReferences = [
    { apiVersion: "apps/v1", kind: "ReplicaSet", name: "app-7d4b9", uid: "6f1c", controller: true },
  ];
  return JSON.stringify(review);
}

const nearMiss = new FakeServiceAccountSource([
  {
    namespace: "shop",
    name: "app",
    annotations: { "eks.amazon.com/role-arn": "arn:aws:iam::111122223333:role/app" },
  },
]);

function setUp(behaviour: RecordingEventApi["behaviour"]) {
  const api = new RecordingEventApi();
  api.behaviour = behaviour;
  const reports = new CountingReports();
  const recorder = new EventRecorder(
    { api, clock: systemClock, reports, logger: captureLog().logger },
    {
      maxEntries: 16,
      ratePerSecond: 5,
      burst: 20,
      flushIntervalMs: 1,
      updateIntervalMs: 10_000,
      seriesWindowMs: 360_000,
      requestTimeoutMs: 60_000,
      reportingInstance: "test",
    },
  );
  const deps: AppDeps = {
    options: defaultEngineOptions,
    source: nearMiss,
    logger: captureLog().logger,
    metrics: createMetrics({ defaultMetrics: false }),
    maxBodyBytes: 1024 * 1024,
    ...defaultAdmissionLimits,
    lookupTimeoutMs: 2000,
    isCertificateLoaded: () => true,
    events: recorder,
  };
  return { api, reports, recorder, app: buildApp(deps) };
}

async function review(app: ReturnType<typeof buildApp>, uid: string) {
  const started = performance.now();
  const answer = await app.inject({
    method: "POST",
    url: "/mutate",
    headers: { "content-type": "application/json" },
    payload: nearMissReview(uid),
  });
  const { response } = answer.json() as { response: { allowed: boolean; warnings?: string[] } };
  return { status: answer.statusCode, response, ms: performance.now() - started };
}

describe("Events from reviews", () => {
  for (const behaviour of ["hang", "fail"] as const) {
    test(`an Event API that ${behaviour === "hang" ? "never answers" : "fails"} neither delays nor fails a review`, async () => {
      const { api, recorder, app } = setUp(behaviour);
      recorder.start();
      try {
        const first = await review(app, "uid-0");
        await until(() => api.requests.length === 1, "the Event request is sent");
        for (let i = 1; i <= 20; i++) {
          const answered = await review(app, `uid-${i}`);
          assert.equal(answered.status, 200);
          assert.equal(answered.response.allowed, true);
          assert.ok(answered.ms < 1000, `review ${i} took ${answered.ms} ms`);
        }
        assert.deepEqual(first.response.warnings, [
          'ServiceAccount app: annotation "eks.amazon.com/role-arn" is not read; did you mean eks.amazonaws.com/role-arn?',
        ]);
      } finally {
        await app.close();
        await recorder.stop();
      }
    });
  }

  test("a review with a warning queues one Event on the pod's ReplicaSet", async () => {
    const { api, reports, recorder, app } = setUp("ok");
    try {
      await review(app, "uid-0");
      await review(app, "uid-1");
      await recorder.flush();
      assert.equal(api.requests.length, 1);
      const [request] = api.requests;
      assert.equal(request?.verb === "create" && request.event.regarding.name, "app-7d4b9");
      assert.equal(request?.verb === "create" && request.event.reason, "NoRoleArn");
      assert.equal(request?.verb === "create" && request.event.series?.count, 2);
      assert.deepEqual(reports.emittedCounts, { create: 1, patch: 0 });
    } finally {
      await app.close();
      await recorder.stop();
    }
  });
});
