// Oversized bodies get 413 before they are read whole; slow, silent and half-open clients are cut off by the
// server's own timeouts (connectionLimits in src/server/connection-limits.ts) and never keep others from being served.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connectionLimits } from "../../src/server/connection-limits.js";
import { review, send } from "../server/support/https-client.js";
import { startTestWebhook, type TestWebhook } from "../server/support/webhook.js";
import { reviewText } from "../unit/admission/fixtures.js";
import { dribble, openTcp, openTls, type RawConnection, statusOf } from "./support/raw-client.js";

const maxBodyBytes = 64 * 1024;
const headers = "POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";

describe("request size limits", () => {
  let webhook: TestWebhook;
  before(async () => {
    webhook = await startTestWebhook({ maxBodyBytes });
  });
  after(async () => {
    await webhook.stop();
  });

  test("answers 413 to a Content-Length over the limit before a byte of the body is sent", async () => {
    const connection = await openTls(webhook.port, webhook.ca);
    const started = Date.now();
    connection.socket.write(`${headers}Content-Length: ${10 * 1024 * 1024}\r\n\r\n`);
    await connection.waitFor("\r\n\r\n");
    assert.equal(statusOf(connection.received()), 413);
    assert.match(connection.received(), /larger than 65536 bytes \(--max-body-bytes\)/);
    assert.ok(Date.now() - started < 1000);
    // The unread body is not drained: the server closes the connection.
    assert.ok((await connection.closed) < 2000);
  });

  test("answers 413 to a chunked body without Content-Length as soon as it passes the limit", async () => {
    const connection = await openTls(webhook.port, webhook.ca);
    connection.socket.write(`${headers}Transfer-Encoding: chunked\r\n\r\n`);
    const chunk = `${(8192).toString(16)}\r\n${"x".repeat(8192)}\r\n`;
    const total = 10 * 1024 * 1024;
    let sent = 0;
    let answered = false;
    void connection.waitFor("HTTP/1.1 ").then(() => {
      answered = true;
    });
    while (!answered && sent < total) {
      if (!connection.socket.writable) break;
      connection.socket.write(chunk);
      sent += 8192;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await connection.waitFor("\r\n\r\n");
    assert.equal(statusOf(connection.received()), 413);
    assert.ok(sent > maxBodyBytes, `answered after ${sent} bytes`);
    assert.ok(sent < maxBodyBytes + 1024 * 1024, `413 only after ${sent} of ${total} bytes`);
    await connection.closed;
    const metrics = await webhook.metrics.registry.metrics();
    assert.match(metrics, /reviews_total\{outcome="invalid",reason="body-too-large"\} 2/);
  });
});

describe("slow and silent clients", () => {
  let webhook: TestWebhook;
  before(async () => {
    webhook = await startTestWebhook();
  });
  after(async () => {
    await webhook.stop();
  });

  test("are closed by the server's timeouts while a normal review is answered at once", async () => {
    const limits = connectionLimits;
    const check = limits.connectionsCheckingIntervalMs;
    const idle = await Promise.all(Array.from({ length: 200 }, () => openTls(webhook.port, webhook.ca)));
    const noHandshake = await Promise.all(Array.from({ length: 50 }, () => openTcp(webhook.port)));
    const slowHeaders = await Promise.all(
      Array.from({ length: 20 }, () => openTls(webhook.port, webhook.ca)),
    );
    for (const connection of slowHeaders)
      void dribble(connection, `${headers}X-Padding: ${"a".repeat(60)}`, 1000);
    const slowBodies = await Promise.all(Array.from({ length: 10 }, () => openTls(webhook.port, webhook.ca)));
    for (const connection of slowBodies) {
      connection.socket.write(`${headers}Content-Length: 100\r\n\r\n`);
      void dribble(connection, "{".repeat(100), 1000);
    }

    const started = Date.now();
    const answer = await review(webhook, reviewText("pod-create-v1"));
    const reviewMs = Date.now() - started;
    assert.equal(answer.status, 200);
    assert.ok(reviewMs < 1000, `a review took ${reviewMs} ms beside 280 stuck connections`);
    assert.equal((await send(webhook, { path: "/healthz" })).status, 200);

    const closedWithin = async (connections: RawConnection[], limitMs: number, what: string) => {
      const times = await Promise.all(connections.map((connection) => connection.closed));
      const slowest = Math.max(...times);
      assert.ok(slowest <= limitMs, `${what}: the last was closed after ${slowest} ms (limit ${limitMs} ms)`);
      return slowest;
    };
    const slack = 2 * check + 500;
    const [idleMs, headersMs, handshakeMs, bodyMs] = await Promise.all([
      closedWithin(idle, limits.headersTimeoutMs + slack, "idle TLS connections"),
      closedWithin(slowHeaders, limits.headersTimeoutMs + slack, "headers a byte a second"),
      closedWithin(noHandshake, limits.handshakeTimeoutMs + slack, "TCP without a TLS handshake"),
      closedWithin(slowBodies, limits.requestTimeoutMs + slack, "a body a byte a second"),
    ]);
    for (const connection of [...idle, ...slowHeaders, ...slowBodies]) {
      assert.equal(statusOf(connection.received()), 408);
    }
    console.log(
      `reliability/limits: 280 stuck connections closed (idle TLS by ${idleMs} ms, slow headers by ${headersMs} ms, no handshake by ${handshakeMs} ms, slow body by ${bodyMs} ms); a review beside them took ${reviewMs} ms`,
    );
    const afterwards = await review(webhook, reviewText("pod-create-v1"));
    assert.equal(afterwards.status, 200);
  });
});
