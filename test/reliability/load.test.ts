// Under sustained load: a certificate rotated on disk, and SIGTERM to the built process, fail no request.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { selfSignedPair } from "../server/support/secret-volume.js";
import { startTestWebhook } from "../server/support/webhook.js";
import { freePort } from "../support/ports.js";
import { until } from "../support/until.js";
import { reviewText } from "../unit/admission/fixtures.js";
import { describeFailures, runLoad } from "./support/load.js";

const body = reviewText("pod-create-v1");
const builtCli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

describe("certificate rotation under load", () => {
  test("swaps the certificate on disk four times, and refuses a bad pair, without failing a request", async () => {
    const pairs = await Promise.all(Array.from({ length: 5 }, () => selfSignedPair()));
    const [first, second, third] = pairs;
    assert.ok(first && second && third);
    const webhook = await startTestWebhook({ pair: first, certificatePollIntervalMs: 50 });
    try {
      const target = { port: webhook.port, ca: pairs.map((pair) => pair.certPem) };
      let rotated = false;
      let seen: ReadonlySet<string> = new Set();
      // Stops once every rotation is done and a few thousand requests have been answered.
      const load = runLoad(target, body, {
        workers: 16,
        stop: (tally) => {
          seen = tally.certificates;
          return rotated && tally.ok >= 3000;
        },
      });
      // Each pair is written only once the load's new connections were served the one before: with fixed
      // sleeps, a stalled poll on a busy machine could skip a pair.
      const servedToLoad = (fingerprint: string) =>
        until(() => seen.has(fingerprint), `the load is served certificate ${fingerprint}`, {
          timeoutMs: 10_000,
        });
      await servedToLoad(first.fingerprint256);
      for (const pair of pairs.slice(1)) {
        await webhook.volume.update(pair.certPem, pair.keyPem);
        await servedToLoad(pair.fingerprint256);
      }
      // A certificate with another's key: refused, and the current pair stays.
      await webhook.volume.update(second.certPem, third.keyPem);
      await sleep(400);
      rotated = true;
      const tally = await load;
      assert.equal(tally.failed, 0, describeFailures(tally));
      assert.equal(tally.refused, 0);
      assert.deepEqual(
        [...tally.certificates].sort(),
        pairs.map((pair) => pair.fingerprint256).sort(),
        "every certificate was served in turn",
      );
      console.log(
        `reliability/load: certificate rotated 4 times and a bad pair refused under load: ${tally.ok} requests, 0 failed`,
      );
    } finally {
      await webhook.stop();
    }
  });
});

describe("SIGTERM under load", () => {
  test("the built process answers every request that reached it and exits 0 well within its grace period", async () => {
    await access(builtCli).catch(() => assert.fail(`${builtCli} is missing: run \`npm run build\` first`));
    const shutdownTimeoutMs = 5000;
    const shutdownDelayMs = 1000;
    const pair = await selfSignedPair();
    const dir = await mkdtemp(join(tmpdir(), "wiw-sigterm-"));
    let child: ChildProcess | undefined;
    try {
      await writeFile(join(dir, "tls.crt"), pair.certPem);
      await writeFile(join(dir, "tls.key"), pair.keyPem);
      await writeFile(
        join(dir, "serviceaccounts.yaml"),
        "- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: app, namespace: shop, annotations: {eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app}}\n",
      );
      const port = await freePort();
      const serving = spawn(
        process.execPath,
        [
          builtCli,
          "serve",
          `--service-accounts-file=${join(dir, "serviceaccounts.yaml")}`,
          `--tls-cert=${join(dir, "tls.crt")}`,
          `--tls-key=${join(dir, "tls.key")}`,
          "--listen-address=127.0.0.1",
          `--port=${port}`,
          "--metrics-port=0",
          `--shutdown-delay=${shutdownDelayMs}`,
          `--shutdown-timeout=${shutdownTimeoutMs}`,
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      child = serving;
      const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
        serving.once("exit", (code) => resolve({ code, at: Date.now() })),
      );
      await new Promise<void>((resolve, reject) => {
        const lines = createInterface({ input: serving.stdout as NodeJS.ReadableStream });
        lines.on("line", (line) => {
          if ((JSON.parse(line) as { msg?: string }).msg === "ready") resolve();
        });
        serving.once("exit", (code) => reject(new Error(`serve exited with ${code} before it was ready`)));
      });

      let answered = 0;
      const load = runLoad({ port, ca: [pair.certPem] }, body, {
        workers: 32,
        stop: (tally) => {
          answered = tally.ok;
          return false;
        },
        stopWhenRefused: true,
      });
      // SIGTERM once the load is in full swing, however long a busy machine takes to get there.
      await until(() => answered >= 1000, "1,000 requests are answered", {
        timeoutMs: 20_000,
        intervalMs: 50,
      });
      const signalledAt = Date.now();
      serving.kill("SIGTERM");
      const exit = await exited;
      const tally = await load;
      const shutdownMs = exit.at - signalledAt;
      console.log(
        `reliability/load: SIGTERM under load: ${tally.ok} answered, ${tally.failed} failed after reaching the server${tally.failed > 0 ? ` (${describeFailures(tally)})` : ""}, ${tally.refused} refused at connect and ${tally.resetInBacklog} reset in the listen backlog before TLS (both after the listener closed); exit ${exit.code} after ${shutdownMs} ms (--shutdown-delay ${shutdownDelayMs}, --shutdown-timeout ${shutdownTimeoutMs})`,
      );

      assert.equal(exit.code, 0);
      assert.ok(
        shutdownMs >= shutdownDelayMs,
        `exited ${shutdownMs} ms after SIGTERM, before the delay ended`,
      );
      assert.ok(
        shutdownMs < shutdownDelayMs + shutdownTimeoutMs / 2,
        `exited ${shutdownMs} ms after SIGTERM`,
      );
      assert.equal(tally.failed, 0, describeFailures(tally));
    } finally {
      if (child?.exitCode === null) child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
