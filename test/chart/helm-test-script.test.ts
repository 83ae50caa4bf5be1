// The `helm test` script (files/helm-test.cjs) run with node as the test pod runs it: against a local HTTPS
// server, and for DNS inside private namespaces whose only DNS server is one of ours.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generate } from "selfsigned";
import { type DnsMode, privateDnsUnavailable, runWithPrivateDns } from "./private-dns.js";
import { chartDir } from "./render.js";
import { type Finished, runToEnd } from "./run-to-end.js";

const script = readFileSync(join(chartDir, "files", "helm-test.cjs"), "utf8");
const serviceHost = "wiw-web-identity-webhook.iam.svc";
const privateDnsMissing = await privateDnsUnavailable();

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** Asserts the script failed once, with its last line naming `step`, and that nothing was printed as passed. */
function assertFailedAt(finished: Finished, step: string, message: RegExp): void {
  assert.equal(finished.code, 1, finished.stderr);
  const last = lines(finished.stderr).at(-1) ?? "";
  assert.ok(last.startsWith(`FAILED at ${step} after `), last);
  assert.match(last, message);
  assert.doesNotMatch(finished.stdout, /^ok: /m);
}

describe("the helm test script", () => {
  let server: Server;
  let port: number;
  let caBundle: string;
  let answer = (review: { request: { uid: string } }): unknown => ({
    response: { uid: review.request.uid, allowed: true },
  });
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

  function runScript(env: Record<string, string>): Promise<Finished> {
    return runToEnd(
      process.execPath,
      ["-e", script],
      {
        PATH: process.env.PATH ?? "",
        WEBHOOK_HOST: "localhost",
        WEBHOOK_PORT: String(port),
        NAMESPACE: "iam",
        TIMEOUT_SECONDS: "2",
        ...env,
      },
      30_000,
    );
  }

  it("passes against a webhook that is healthy, ready and allows the probe review, reporting each step", async () => {
    answer = (review) => ({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: review.request.uid, allowed: true },
    });
    const finished = await runScript({ CA_BUNDLE: caBundle });
    assert.equal(finished.code, 0, finished.stderr);
    const out = lines(finished.stdout);
    assert.equal(out.length, 4, finished.stdout);
    assert.match(out[0] ?? "", /^step 1\/3 \(DNS\): localhost resolves to 127\.0\.0\.1 \(\d+\.\d s\)$/);
    assert.match(out[1] ?? "", /^step 2\/3 \(health\): GET \/healthz and \/readyz answered 200 over TLS /);
    assert.match(
      out[2] ?? "",
      /^step 3\/3 \(review\): POST \/mutate allowed the probe review helm-test-\d+ /,
    );
    assert.match(out[3] ?? "", /^ok: https:\/\/localhost:\d+ serves \/healthz, \/readyz and \/mutate/);
  });

  it("retries a webhook that is not ready until TIMEOUT_SECONDS, then fails at the health step", async () => {
    ready = false;
    try {
      const finished = await runScript({ CA_BUNDLE: caBundle, TIMEOUT_SECONDS: "3" });
      assertFailedAt(finished, "step 2/3 (health)", /: GET \/readyz answered 503/);
      assert.match(finished.stderr, /^step 2\/3 \(health\), attempt 2: GET \/readyz answered 503/m);
      assert.ok(finished.ms >= 3000 && finished.ms < 6000, `ended after ${finished.ms} ms`);
    } finally {
      ready = true;
    }
  });

  it("fails at the review step when the review is answered for another uid", async () => {
    answer = () => ({ response: { uid: "someone-else", allowed: true } });
    assertFailedAt(
      await runScript({ CA_BUNDLE: caBundle }),
      "step 3/3 (review)",
      /: POST \/mutate did not allow the review helm-test-/,
    );
  });

  it("fails at the health step when the certificate is not signed by the given CA", async () => {
    const other = await generate([{ name: "commonName", value: "other" }], { keyType: "ec", curve: "P-256" });
    assertFailedAt(
      await runScript({ CA_BUNDLE: Buffer.from(other.cert).toString("base64") }),
      "step 2/3 (health)",
      /(self-signed|unable to verify|certificate)/i,
    );
  });

  it("fails at once, before any lookup, when the CA file is missing", async () => {
    const finished = await runScript({ CA_FILE: "/nonexistent/ca.crt", TIMEOUT_SECONDS: "60" });
    assertFailedAt(finished, "setup", /cannot read the CA at \/nonexistent\/ca\.crt \(ENOENT\)/);
    assert.equal(finished.stdout, "");
    assert.ok(finished.ms < 5000, `ended after ${finished.ms} ms`);
  });

  it("refuses a TIMEOUT_SECONDS that is not a positive number", async () => {
    assertFailedAt(
      await runScript({ CA_BUNDLE: caBundle, TIMEOUT_SECONDS: "1m" }),
      "setup",
      /TIMEOUT_SECONDS="1m" is not a positive number of seconds/,
    );
  });

  describe("against a webhook that accepts connections and never answers", () => {
    let silent: TcpServer;
    const sockets = new Set<Socket>();
    before(async () => {
      silent = createTcpServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    });
    after(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it("ends within TIMEOUT_SECONDS, failing at the health step", async () => {
      const finished = await runScript({
        CA_BUNDLE: caBundle,
        WEBHOOK_PORT: String((silent.address() as AddressInfo).port),
        TIMEOUT_SECONDS: "3",
      });
      assertFailedAt(
        finished,
        "step 2/3 (health)",
        /GET \/healthz: no answer within \d+(\.\d+)? s from 127\.0\.0\.1/,
      );
      assert.ok(finished.ms >= 3000 && finished.ms < 6000, `ended after ${finished.ms} ms`);
    });
  });

  describe("when the Service's name does not resolve", { concurrency: true }, () => {
    const cases: { mode: DnsMode; name: string; reason: RegExp }[] = [
      {
        mode: "nxdomain",
        name: "fails at the DNS step within seconds when DNS says the name does not exist",
        reason: /the name does not exist \(ENOTFOUND\)/,
      },
      {
        mode: "silent",
        name: "fails at the DNS step within seconds when no DNS server answers (a cluster without DNS)",
        reason: /no DNS server answered within 10 s/,
      },
    ];
    for (const c of cases) {
      it(c.name, { skip: privateDnsMissing ?? false }, async () => {
        const finished = await runWithPrivateDns(
          c.mode,
          [process.execPath, "-e", script],
          { WEBHOOK_HOST: serviceHost, WEBHOOK_PORT: "443", NAMESPACE: "iam", CA_BUNDLE: caBundle },
          40_000,
        );
        assertFailedAt(
          finished,
          "step 1/3 (DNS)",
          new RegExp(`: DNS resolution of ${serviceHost.replaceAll(".", "\\.")} failed: ${c.reason.source}`),
        );
        assert.match(finished.stderr, /check that cluster DNS \(CoreDNS or kube-dns/);
        assert.match(finished.stderr, /kubectl -n iam get service wiw-web-identity-webhook/);
        assert.doesNotMatch(finished.stderr, /healthz|readyz|mutate/);
        // Default DNS budget 10 s, the process itself gone soon after: not the 211 s of a node without DNS.
        assert.ok(finished.ms >= 8000 && finished.ms < 14_000, `ended after ${finished.ms} ms`);
      });
    }
  });
});
