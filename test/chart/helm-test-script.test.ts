// The `helm test` script (files/helm-test.cjs) run with node against a local HTTPS server, as the test pod runs it.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { generate } from "selfsigned";
import { chartDir } from "./render.js";

const run = promisify(execFile);
const script = readFileSync(join(chartDir, "files", "helm-test.cjs"), "utf8");

type Answer = (review: { request: { uid: string } }) => unknown;

describe("the helm test script", () => {
  let server: Server;
  let port: number;
  let caBundle: string;
  let answer: Answer = (review) => ({ response: { uid: review.request.uid, allowed: true } });
  let ready = true;

  before(async () => {
    const pems = await generate([{ name: "commonName", value: "localhost" }], {
      keyType: "ec",
      curve: "P-256",
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }] },
      ],
    });
    caBundle = Buffer.from(pems.cert).toString("base64");
    server = createServer({ cert: pems.cert, key: pems.private }, (req, res) => {
      if (req.method === "GET" && req.url === "/healthz") return void res.writeHead(200).end("ok");
      if (req.method === "GET" && req.url === "/readyz") return void res.writeHead(ready ? 200 : 503).end();
      if (req.method === "POST" && req.url === "/mutate") {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => {
          body += chunk;
        });
        req.on("end", () => {
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify(answer(JSON.parse(body))));
        });
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function runScript(env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
    return run(process.execPath, ["-e", script], {
      env: {
        PATH: process.env.PATH ?? "",
        WEBHOOK_HOST: "localhost",
        WEBHOOK_PORT: String(port),
        NAMESPACE: "iam",
        ATTEMPTS: "1",
        ...env,
      },
    });
  }

  it("passes against a webhook that is healthy, ready and allows the probe review", async () => {
    answer = (review) => ({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: review.request.uid, allowed: true },
    });
    const { stdout } = await runScript({ CA_BUNDLE: caBundle });
    assert.match(stdout, /^ok: https:\/\/localhost:\d+ serves \/healthz, \/readyz and \/mutate/);
  });

  it("fails when the webhook is not ready", async () => {
    ready = false;
    try {
      await assert.rejects(runScript({ CA_BUNDLE: caBundle }), /FAILED: GET \/readyz answered 503/);
    } finally {
      ready = true;
    }
  });

  it("fails when the review is answered for another uid", async () => {
    answer = () => ({ response: { uid: "someone-else", allowed: true } });
    await assert.rejects(
      runScript({ CA_BUNDLE: caBundle }),
      /FAILED: POST \/mutate did not allow the review helm-test-/,
    );
  });

  it("fails when the certificate is not signed by the given CA", async () => {
    const other = await generate([{ name: "commonName", value: "other" }], { keyType: "ec", curve: "P-256" });
    await assert.rejects(
      runScript({ CA_BUNDLE: Buffer.from(other.cert).toString("base64") }),
      /FAILED: .*(self-signed|unable to verify|certificate)/i,
    );
  });

  it("fails clearly when the CA file is missing", async () => {
    await assert.rejects(
      runScript({ CA_FILE: "/nonexistent/ca.crt" }),
      /cannot read the CA at \/nonexistent\/ca\.crt \(ENOENT\)/,
    );
  });
});
