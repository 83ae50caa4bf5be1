import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { readErrorStatus } from "../../../src/kube/request.js";

/** A stand-in for the response of a watch the API server refused: a stream with a status code. */
function response(statusCode: number): PassThrough & { statusCode: number } {
  return Object.assign(new PassThrough(), { statusCode });
}

function messageOf(stream: PassThrough): Promise<string> {
  return new Promise((resolve) => readErrorStatus(stream as unknown as IncomingMessage, resolve));
}

describe("readErrorStatus", () => {
  it("names the status and the Status body's message", async () => {
    const refused = response(410);
    const message = messageOf(refused);
    refused.end('{"kind":"Status","message":"too old resource version: 1 (2)"}');
    assert.equal(await message, "HTTP 410 (too old resource version: 1 (2))");
  });

  it("reads at most 64 KiB of the body and still answers", async () => {
    const refused = response(500);
    const message = messageOf(refused);
    for (let i = 0; i < 40; i++) refused.write("x".repeat(4096));
    refused.end();
    assert.equal(await message, "HTTP 500");
  });

  it("answers once, with the status, when the body breaks off", async () => {
    const refused = response(403);
    let calls = 0;
    const message = new Promise<string>((resolve) =>
      readErrorStatus(refused as unknown as IncomingMessage, (text) => {
        calls++;
        resolve(text);
      }),
    );
    refused.write('{"message":"forb');
    refused.destroy(new Error("socket hang up"));
    assert.equal(await message, "HTTP 403");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls, 1);
  });
});
