import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EventNotice } from "../../../src/events/notice.js";
import { EventRecorder, type EventRecorderOptions } from "../../../src/events/recorder.js";
import { FakeClock, until } from "../serviceaccounts/fake-clock.js";
import { CountingReports, RecordingEventApi } from "./recording-api.js";

const options: EventRecorderOptions = {
  maxEntries: 50,
  ratePerSecond: 5,
  burst: 20,
  flushIntervalMs: 1000,
  updateIntervalMs: 10_000,
  seriesWindowMs: 360_000,
  requestTimeoutMs: 5000,
  reportingInstance: "web-identity-webhook-7f9c-abcde",
};

function notice(
  name = "app-7d4b9",
  note = 'ServiceAccount app: annotation "eks.amazon.com/role-arn" is not read',
): EventNotice {
  return {
    regarding: { apiVersion: "apps/v1", kind: "ReplicaSet", namespace: "shop", name, uid: `uid-${name}` },
    related: { apiVersion: "v1", kind: "ServiceAccount", namespace: "shop", name: "app" },
    reason: "NoRoleArn",
    note,
  };
}

function setUp(overrides: Partial<EventRecorderOptions> = {}) {
  const clock = new FakeClock();
  clock.advance(1_700_000_000_000);
  const api = new RecordingEventApi();
  const reports = new CountingReports();
  const warnings: object[] = [];
  const recorder = new EventRecorder(
    { api, clock, reports, logger: { warn: (fields) => warnings.push(fields) } },
    { ...options, ...overrides },
  );
  return { clock, api, reports, warnings, recorder };
}

describe("EventRecorder", () => {
  it("makes one Event with a count of 500 from a burst of 500 pods of one ReplicaSet", async () => {
    const { api, reports, recorder } = setUp();
    for (let i = 0; i < 500; i++) recorder.record(notice());
    await recorder.flush();
    assert.equal(api.requests.length, 1);
    const [request] = api.requests;
    assert.equal(request?.verb, "create");
    if (request?.verb !== "create") return;
    assert.deepEqual(request.event, {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: request.event.metadata.name, namespace: "shop" },
      eventTime: "2023-11-14T22:13:20.000000Z",
      reportingController: "web-identity-webhook",
      reportingInstance: "web-identity-webhook-7f9c-abcde",
      action: "Admit",
      reason: "NoRoleArn",
      note: notice().note,
      type: "Warning",
      regarding: notice().regarding,
      related: notice().related,
      series: { count: 500, lastObservedTime: "2023-11-14T22:13:20.000000Z" },
    });
    assert.match(request.event.metadata.name, /^app-7d4b9\.[0-9a-f]+$/);
    assert.deepEqual(reports.emittedCounts, { create: 1, patch: 0 });
  });

  it("creates a first occurrence without a series, then patches the count at most once per update interval", async () => {
    const { api, clock, reports, recorder } = setUp();
    recorder.record(notice());
    await recorder.flush();
    clock.advance(1000);
    for (let i = 0; i < 499; i++) recorder.record(notice());
    await recorder.flush();
    assert.equal(api.requests.length, 1, "no patch within the update interval");
    clock.advance(9000);
    await recorder.flush();
    const [create, patch] = api.requests;
    assert.equal(create?.verb === "create" && create.event.series, undefined);
    assert.deepEqual(patch, {
      verb: "patch",
      namespace: "shop",
      name: create?.verb === "create" ? create.event.metadata.name : "",
      series: { count: 500, lastObservedTime: "2023-11-14T22:13:21.000000Z" },
    });
    clock.advance(20_000);
    await recorder.flush();
    assert.equal(api.requests.length, 2, "nothing new, nothing sent");
    assert.deepEqual(reports.emittedCounts, { create: 1, patch: 1 });
  });

  it("sends no more requests than the rate limit allows; the rest wait for later flushes", async () => {
    const { api, clock, recorder } = setUp();
    for (let i = 0; i < 30; i++) recorder.record(notice(`app-${i}`));
    await recorder.flush();
    assert.equal(api.requests.length, 20, "the burst");
    clock.advance(1000);
    await recorder.flush();
    assert.equal(api.requests.length, 25, "burst + 5 per second");
    clock.advance(1000);
    await recorder.flush();
    assert.equal(api.requests.length, 30);
    const names = api.requests.map((request) =>
      request.verb === "create" ? request.event.regarding.name : "",
    );
    assert.equal(new Set(names).size, 30, "each Event sent once");
  });

  it("holds at most maxEntries distinct Events: a new one beyond is dropped and counted, repeats still count", async () => {
    const { api, reports, recorder } = setUp({ maxEntries: 3, burst: 100 });
    for (let i = 0; i < 5; i++) recorder.record(notice(`app-${i}`));
    recorder.record(notice("app-0"));
    assert.equal(recorder.size(), 3);
    assert.deepEqual(reports.droppedCounts, { "queue-full": 2, "api-error": 0 });
    await recorder.flush();
    const counts = api.requests.map((request) =>
      request.verb === "create" ? [request.event.regarding.name, request.event.series?.count ?? 1] : [],
    );
    assert.deepEqual(counts, [
      ["app-0", 2],
      ["app-1", 1],
      ["app-2", 1],
    ]);
  });

  it("forgets an Event not seen for the series window, making room, and starts a new Event after", async () => {
    const { api, clock, recorder } = setUp({ maxEntries: 1 });
    recorder.record(notice());
    await recorder.flush();
    clock.advance(359_999);
    await recorder.flush();
    assert.equal(recorder.size(), 1);
    clock.advance(1);
    await recorder.flush();
    assert.equal(recorder.size(), 0);
    recorder.record(notice());
    await recorder.flush();
    assert.deepEqual(
      api.requests.map((request) => request.verb),
      ["create", "create"],
    );
  });

  it("counts and logs what a failing API server refused, and tries again on the next occurrence", async () => {
    const { api, clock, reports, warnings, recorder } = setUp();
    api.behaviour = "fail";
    for (let i = 0; i < 7; i++) recorder.record(notice());
    await recorder.flush();
    assert.deepEqual(reports.droppedCounts, { "queue-full": 0, "api-error": 7 });
    assert.deepEqual(warnings, [
      {
        regarding: "ReplicaSet shop/app-7d4b9",
        reason: "NoRoleArn",
        error: "HTTP 403 (events is forbidden)",
      },
    ]);
    clock.advance(10_000);
    await recorder.flush();
    assert.equal(api.requests.length, 1, "given up occurrences are not sent again");
    api.behaviour = "ok";
    recorder.record(notice());
    await recorder.flush();
    assert.equal(api.requests.at(-1)?.verb, "create");
    assert.deepEqual(reports.emittedCounts, { create: 1, patch: 0 });
  });

  it("creates the Event again, with the whole count, when the API server has dropped it", async () => {
    const { api, clock, recorder } = setUp();
    recorder.record(notice());
    await recorder.flush();
    api.behaviour = "gone";
    recorder.record(notice());
    clock.advance(10_000);
    await recorder.flush();
    const last = api.requests.at(-1);
    assert.deepEqual(
      api.requests.map((request) => request.verb),
      ["create", "patch", "create"],
    );
    assert.equal(last?.verb === "create" && last.event.series?.count, 2);
  });

  it("gives up a request after its timeout, so a silent API server cannot stall the queue", async () => {
    const { api, clock, reports, recorder } = setUp();
    api.behaviour = "hang";
    recorder.record(notice("app-a"));
    recorder.record(notice("app-b"));
    const flushed = recorder.flush();
    await until(() => api.requests.length === 1, "the first request is sent");
    clock.advance(5000);
    await until(() => api.requests.length === 2, "the second request is sent");
    clock.advance(5000);
    await flushed;
    assert.deepEqual(reports.droppedCounts, { "queue-full": 0, "api-error": 2 });
  });

  it("record() returns at once while the API server hangs, and stop() ends the loop", async () => {
    const { api, clock, recorder } = setUp();
    api.behaviour = "hang";
    recorder.start();
    recorder.record(notice());
    clock.advance(1000);
    await until(() => api.requests.length === 1, "the loop sends");
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) recorder.record(notice(`app-${i % 40}`));
    assert.ok(performance.now() - started < 500, "10,000 records take well under a review's budget");
    await recorder.stop();
  });
});
