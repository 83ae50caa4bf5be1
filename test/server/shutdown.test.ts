import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { Agent } from "node:https";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { exitOnShutdownSignal } from "../../src/server/signals.js";
import { until } from "../support/until.js";
import { reviewText } from "../unit/admission/fixtures.js";
import { FakeServiceAccountSource } from "./support/fake-serviceaccount-source.js";
import { review, send } from "./support/https-client.js";
import { captureLog } from "./support/log-capture.js";
import { appServiceAccount, startTestWebhook } from "./support/webhook.js";

/** Shutdown steps follow each other within milliseconds: polled often. */
const quick = { intervalMs: 5 };

describe("graceful shutdown", () => {
  test("on SIGTERM finishes the reviews in flight with 200, refuses new connections, and exits 0", async () => {
    const source = new FakeServiceAccountSource([appServiceAccount]);
    const webhook = await startTestWebhook({ source, shutdownTimeoutMs: 10_000 });
    const signals = new EventEmitter();
    const exits: number[] = [];
    const removeListeners = exitOnShutdownSignal(() => webhook.server.close(), {
      logger: webhook.log.logger,
      exit: (code) => exits.push(code),
      shutdownTimeoutMs: 10_000,
      process: signals,
    });
    const keptAlive = new Agent({ keepAlive: true });
    try {
      // A kept-alive connection that is idle when the signal comes must not hold the shutdown.
      assert.equal((await review(webhook, reviewText("pod-create-v1"), keptAlive)).status, 200);
      const idle = new Agent({ keepAlive: true });
      assert.equal((await send(webhook, { path: "/healthz", agent: idle })).status, 200);

      source.delayMs = 400;
      const lookupsBefore = source.lookups.length;
      const inFlight = Array.from({ length: 8 }, (_, index) =>
        review(webhook, reviewText("pod-create-v1"), index % 2 === 0 ? keptAlive : undefined),
      );
      await until(
        () => source.lookups.length === lookupsBefore + 8,
        "the eight reviews are in flight",
        quick,
      );

      const started = Date.now();
      signals.emit("SIGTERM", "SIGTERM");
      await sleep(50);
      await assert.rejects(send(webhook, { path: "/healthz" }), { code: "ECONNREFUSED" });

      const answers = await Promise.all(inFlight);
      assert.deepEqual(
        answers.map((answer) => answer.status),
        Array(8).fill(200),
      );
      for (const answer of answers) {
        assert.equal((answer.json() as { response: { patchType: string } }).response.patchType, "JSONPatch");
      }
      await until(() => exits.length > 0, "the process exits", quick);
      assert.deepEqual(exits, [0]);
      assert.ok(Date.now() - started < 3000, `shutdown took ${Date.now() - started} ms`);
      const messages = webhook.log.lines().map((line) => line.msg);
      assert.ok(messages.includes("shutting down: finishing in-flight reviews"));
      assert.ok(messages.includes("shut down"));
      idle.destroy();
    } finally {
      keptAlive.destroy();
      removeListeners();
      await webhook.stop();
    }
  });

  test("during --shutdown-delay keeps answering, fails readyz and closes each connection after its answer", async () => {
    // Long enough for the three requests below on new TLS connections on a busy machine, which must all
    // land inside the delay.
    const webhook = await startTestWebhook({ shutdownDelayMs: 2000 });
    const keptAlive = new Agent({ keepAlive: true });
    try {
      const before = await review(webhook, reviewText("pod-create-v1"), keptAlive);
      assert.equal(before.status, 200);
      assert.notEqual(before.headers.connection, "close");

      const started = Date.now();
      const closed = webhook.server.close();
      await sleep(50);
      const ready = await send(webhook, { path: "/readyz" });
      assert.equal(ready.status, 503);
      assert.match(String((ready.json() as { error: string }).error), /shutting down/);
      // The kept-alive connection opened before SIGTERM is still answered, then told to close.
      const during = await review(webhook, reviewText("pod-create-v1"), keptAlive);
      assert.equal(during.status, 200);
      assert.equal((during.json() as { response: { patchType: string } }).response.patchType, "JSONPatch");
      assert.equal(during.headers.connection, "close");
      // New connections are still accepted until the delay ends.
      assert.equal((await review(webhook, reviewText("pod-create-v1"))).status, 200);

      await closed;
      assert.ok(Date.now() - started >= 1950, `closed after ${Date.now() - started} ms`);
      await assert.rejects(send(webhook, { path: "/healthz" }), { code: "ECONNREFUSED" });
    } finally {
      keptAlive.destroy();
      await webhook.stop();
    }
  });

  test("closes the connections of reviews still running at --shutdown-timeout", async () => {
    const source = new FakeServiceAccountSource([appServiceAccount]);
    const webhook = await startTestWebhook({ source, shutdownTimeoutMs: 300, lookupTimeoutMs: 20_000 });
    try {
      source.hang = true;
      const stuck = review(webhook, reviewText("pod-create-v1"));
      await until(() => source.lookups.length === 1, "the review is in flight", quick);
      const started = Date.now();
      await webhook.server.close();
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 2000, `close took ${took} ms`);
      await assert.rejects(stuck);
      assert.ok(webhook.log.lines().some((line) => line.msg === "closing connections of unfinished reviews"));
    } finally {
      await webhook.stop();
    }
  });
});

describe("exitOnShutdownSignal", () => {
  test("exits 1 at once on a second signal", async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const remove = exitOnShutdownSignal(() => new Promise(() => {}), {
      logger: captureLog().logger,
      exit: (code) => exits.push(code),
      shutdownTimeoutMs: 60_000,
      process: signals,
    });
    signals.emit("SIGTERM", "SIGTERM");
    assert.deepEqual(exits, []);
    signals.emit("SIGINT", "SIGINT");
    assert.deepEqual(exits, [1]);
    remove();
    assert.equal(signals.listenerCount("SIGTERM"), 0);
  });

  test("exits 1 when the shutdown fails", async () => {
    const signals = new EventEmitter();
    const log = captureLog();
    const exits: number[] = [];
    exitOnShutdownSignal(
      async () => {
        throw new Error("metrics server would not close");
      },
      { logger: log.logger, exit: (code) => exits.push(code), shutdownTimeoutMs: 1000, process: signals },
    );
    signals.emit("SIGTERM", "SIGTERM");
    await until(() => exits.length > 0, "the process exits", quick);
    assert.deepEqual(exits, [1]);
    assert.equal(log.lines().at(-1)?.error, "metrics server would not close");
  });
});
