import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { Agent } from "node:https";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { reviewText } from "../unit/admission/fixtures.js";
import { review, send } from "./support/https-client.js";
import { selfSignedPair } from "./support/secret-volume.js";
import { startTestWebhook, type TestWebhook } from "./support/webhook.js";

/** The fingerprint a new connection sees, once it is `fingerprint`; fails after `timeoutMs`. */
async function waitForServed(webhook: TestWebhook, fingerprint: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = "";
  while (Date.now() < deadline) {
    seen = (await send(webhook, { path: "/healthz" })).peer.fingerprint256;
    if (seen === fingerprint) return;
    await sleep(20);
  }
  assert.fail(`still serving ${seen}, not ${fingerprint}`);
}

interface Load {
  stop(): Promise<{ succeeded: number; failures: string[] }>;
}

/** Reviews in a loop from `workers` clients, half on kept-alive connections and half on new ones. */
function reviewLoop(webhook: TestWebhook, workers: number): Load {
  let running = true;
  let succeeded = 0;
  const failures: string[] = [];
  const body = reviewText("pod-create-v1");
  const loops = Array.from({ length: workers }, async (_, index) => {
    const agent = index % 2 === 0 ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
    try {
      while (running) {
        try {
          const answer = await review(webhook, body, agent);
          if (answer.status === 200) succeeded += 1;
          else failures.push(`status ${answer.status}`);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    } finally {
      agent?.destroy();
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { succeeded, failures };
    },
  };
}

describe("certificate reload", () => {
  test("serves a rotated certificate without a restart or a failed request", async () => {
    const webhook = await startTestWebhook({ certificatePollIntervalMs: 60_000 });
    try {
      const first = webhook.certificate.current()?.certificate.fingerprint256 ?? "";
      assert.equal((await send(webhook, { path: "/healthz" })).peer.fingerprint256, first);
      const rotations = [await selfSignedPair(), await selfSignedPair()];
      // The client trusts the coming certificates from the start, as the API server trusts a CA bundle.
      for (const pair of rotations) webhook.volume.trusted.push(pair.certPem);

      const load = reviewLoop(webhook, 4);
      let result: Awaited<ReturnType<Load["stop"]>>;
      try {
        for (const pair of rotations) {
          await sleep(100);
          await webhook.volume.update(pair.certPem, pair.keyPem);
          await waitForServed(webhook, pair.fingerprint256);
        }
        await sleep(100);
      } finally {
        result = await load.stop();
      }
      const { succeeded, failures } = result;
      assert.deepEqual(failures, []);
      assert.ok(succeeded > 20, `only ${succeeded} reviews ran`);
      const loaded = webhook.log.lines().filter((line) => line.msg === "serving certificate loaded");
      assert.deepEqual(
        loaded.map((line) => line.serialNumber),
        rotations.map((pair) => new X509Certificate(pair.certPem).serialNumber),
      );
    } finally {
      await webhook.stop();
    }
  });

  test("keeps serving the current certificate when the new files are not a pair, and logs why", async () => {
    const webhook = await startTestWebhook({ certificatePollIntervalMs: 60_000 });
    try {
      const served = webhook.certificate.current()?.certificate.fingerprint256 ?? "";
      const [next, other] = [await selfSignedPair(), await selfSignedPair()];
      await webhook.volume.update(next.certPem, other.keyPem);
      const deadline = Date.now() + 5000;
      while (!webhook.log.lines().some((line) => line.level === 50) && Date.now() < deadline) await sleep(20);
      const errorLine = webhook.log.lines().find((line) => line.level === 50);
      assert.deepEqual(
        { msg: errorLine?.msg, problem: errorLine?.problem },
        {
          msg: "serving certificate not reloaded; still serving the previous one",
          problem: "the private key is not the key of the certificate",
        },
      );
      webhook.volume.trusted.push(next.certPem);
      const answer = await review(webhook, reviewText("pod-create-v1"));
      assert.equal(answer.status, 200);
      assert.equal(answer.peer.fingerprint256, served);

      await webhook.volume.update(next.certPem, next.keyPem);
      await waitForServed(webhook, next.fingerprint256);
    } finally {
      await webhook.stop();
    }
  });

  test("picks up files rewritten in place by polling", async () => {
    const webhook = await startTestWebhook({ certificatePollIntervalMs: 100 });
    try {
      const next = await selfSignedPair();
      webhook.volume.trusted.push(next.certPem);
      const data = join(webhook.volume.dir, "..data");
      await writeFile(join(data, "tls.key"), next.keyPem);
      await writeFile(join(data, "tls.crt"), next.certPem);
      await waitForServed(webhook, next.fingerprint256);
    } finally {
      await webhook.stop();
    }
  });
});
