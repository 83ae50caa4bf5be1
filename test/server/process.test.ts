import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/ports.js";
import { reviewText } from "../unit/admission/fixtures.js";
import { send } from "./support/https-client.js";
import { selfSignedPair } from "./support/secret-volume.js";

const mainScript = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** The time serve keeps accepting after SIGTERM; the rest of the review is sent 200 ms after the signal. */
const shutdownDelayMs = 1000;

const serviceAccounts = `- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: app
    namespace: shop
    annotations:
      eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app
`;

interface Webhook {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<number | null>;
}

/** `serve` through tsx, its JSON log read from stdout until it says where it listens. */
async function spawnServe(dir: string, certPath: string, keyPath: string): Promise<Webhook> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      mainScript,
      "serve",
      "--service-accounts-file",
      join(dir, "serviceaccounts.yaml"),
      "--tls-cert",
      certPath,
      "--tls-key",
      keyPath,
      "--listen-address",
      "127.0.0.1",
      "--port",
      String(await freePort()),
      "--metrics-port",
      "0",
      "--shutdown-delay",
      String(shutdownDelayMs),
      "--shutdown-timeout",
      "5000",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; address?: { port: number } };
      if (entry.msg === "webhook listening" && entry.address !== undefined) resolve(entry.address.port);
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code} before listening`)));
    setTimeout(() => reject(new Error('serve did not log "webhook listening" within 30 s')), 30_000).unref();
  });
  return { child, port, exited };
}

describe("the serve process", () => {
  test("on SIGTERM finishes a review still being received with 200, then exits 0", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wiw-process-"));
    const pair = await selfSignedPair();
    const certPath = join(dir, "tls.crt");
    const keyPath = join(dir, "tls.key");
    await writeFile(certPath, pair.certPem);
    await writeFile(keyPath, pair.keyPem, { mode: 0o600 });
    await writeFile(join(dir, "serviceaccounts.yaml"), serviceAccounts);
    const webhook = await spawnServe(dir, certPath, keyPath);
    const target = { port: webhook.port, ca: [pair.certPem] };
    try {
      for (let ready = false; !ready; await sleep(20)) {
        ready = (await send(target, { path: "/readyz" })).status === 200;
      }
      // Half the body now, the rest after SIGTERM: the review is in flight while the process shuts down.
      const body = Buffer.from(reviewText("pod-create-v1"));
      const half = Math.floor(body.length / 2);
      let sendRest = () => {};
      const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            servername: "localhost",
            port: webhook.port,
            method: "POST",
            path: "/mutate",
            ca: [pair.certPem],
            agent: false,
            headers: { "content-type": "application/json", "content-length": body.length },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              text += chunk;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on("error", reject);
        req.write(body.subarray(0, half));
        sendRest = () => req.end(body.subarray(half));
      });
      await sleep(100);
      const signalled = Date.now();
      webhook.child.kill("SIGTERM");
      await sleep(200);
      sendRest();
      const { status, text } = await answer;
      assert.equal(status, 200);
      assert.equal((JSON.parse(text) as { response: { patchType: string } }).response.patchType, "JSONPatch");
      assert.equal(await webhook.exited, 0);
      // Exits once the delay is over and the review answered, not at --shutdown-timeout.
      assert.ok(
        Date.now() - signalled < shutdownDelayMs + 4000,
        `exited ${Date.now() - signalled} ms after SIGTERM`,
      );
    } finally {
      webhook.child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
