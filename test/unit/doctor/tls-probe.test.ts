import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { after, before, describe, it } from "node:test";
import type { DoctorApi } from "../../../src/doctor/api.js";
import { checkServing } from "../../../src/doctor/serving.js";
import { probeWebhook } from "../../../src/doctor/tls-probe.js";
import { formatCheck } from "../../../src/oidc/verify.js";
import { closedPort } from "../oidc/issuer-server.js";
import { createCa, issueServing, type TestCa } from "./certificates.js";
import { podWebhook, serverName, service, slicesFor, webhookName } from "./cluster-objects.js";
import { emptyCluster, fakeDoctorApi } from "./fake-doctor-api.js";
import { startWebhookServer, type WebhookServer } from "./webhook-server.js";

const timeouts = { connectMs: 2000, answerMs: 5000 };
const label = `webhook ${webhookName}`;
const uid = "tls-probe-test";
let ca: TestCa;
let otherCa: TestCa;
let serving: TestCa;
let webhook: WebhookServer;

/** The fake cluster's Service points at the local server; probes are real TLS connections. */
function apiWithRealProbe(port: number): DoctorApi {
  const cluster = emptyCluster();
  cluster.services.set("irsa/web-identity-webhook", service);
  cluster.endpointSlices.set("irsa/web-identity-webhook", slicesFor(["127.0.0.1"], port));
  return {
    ...fakeDoctorApi(cluster),
    probeWebhook: (target, request) => probeWebhook(target, request, timeouts),
  };
}

async function serve(caPem: string, port = webhook.port): Promise<string[]> {
  const checks = await checkServing(apiWithRealProbe(port), { webhook: podWebhook(caPem), caPem }, uid);
  return checks.map(formatCheck);
}

function validTo(pem: string): string {
  return new Date(new X509Certificate(pem).validTo).toISOString();
}

before(async () => {
  ca = await createCa("web-identity-webhook CA");
  otherCa = await createCa("some other CA");
  serving = await issueServing(ca, { dns: [serverName], ips: ["127.0.0.1"] });
  webhook = await startWebhookServer(serving);
});

after(() => webhook.close());

describe("the TLS probe against a real HTTPS webhook", () => {
  it("passes when the caBundle is the CA that issued the served certificate, and the review is allowed over that connection", async () => {
    assert.deepEqual(await serve(ca.cert), [
      `ok   ${label}: 127.0.0.1:${webhook.port} serves a certificate for ${serverName} that the caBundle trusts (valid until ${validTo(serving.cert)})`,
      `ok   ${label} allows a test pod: POST /mutate at 127.0.0.1:${webhook.port} answered an AdmissionReview`,
      `ok   ${label}: GET /healthz through the API server's service proxy answers 200`,
    ]);
    assert.equal(webhook.posts.at(-1)?.path, "/mutate");
    assert.equal(
      (JSON.parse(webhook.posts.at(-1)?.body ?? "{}") as { request: { uid: string } }).request.uid,
      uid,
    );
  });

  it("fails with the fix when the caBundle holds another CA", async () => {
    const posts = webhook.posts.length;
    assert.deepEqual(await serve(otherCa.cert), [
      `FAIL ${label}: the caBundle does not verify the certificate served at 127.0.0.1:${webhook.port} (subject CN=${serverName}, issuer CN=web-identity-webhook CA): UNABLE_TO_VERIFY_LEAF_SIGNATURE — fix: set the caBundle to the CA that issued the serving certificate, the only CA the API server trusts for it: self-managed and cert-manager modes write it themselves (restart the webhook, or read the cainjector's logs); certificates.mode=secret: certificates.secret.caBundle is the base64 of that CA`,
      `ok   ${label}: GET /healthz through the API server's service proxy answers 200`,
    ]);
    assert.equal(
      webhook.posts.length,
      posts,
      "nothing is sent to a webhook whose certificate does not verify",
    );
  });

  it("reports what it reached: the certificate, the name error, and no answer", async () => {
    const probe = await probeWebhook(
      { host: "127.0.0.1", port: webhook.port, serverName: "other.irsa.svc", ca: ca.cert },
      { path: "/mutate", body: "{}" },
      timeouts,
    );
    assert.deepEqual(probe, {
      reached: true,
      certificate: {
        subject: `CN=${serverName}`,
        issuer: "CN=web-identity-webhook CA",
        altNames: [`DNS:${serverName}`, "IP Address:127.0.0.1"],
        validTo: validTo(serving.cert),
      },
      verifyError: "ERR_TLS_CERT_ALTNAME_INVALID",
      answer: undefined,
    });
  });

  it("checks the IP address when there is no name, as for clientConfig.url https://127.0.0.1:PORT", async () => {
    const probe = await probeWebhook(
      { host: "127.0.0.1", port: webhook.port, serverName: undefined, ca: ca.cert },
      { path: "/healthz-is-not-a-post", body: "{}" },
      timeouts,
    );
    assert.equal(probe.reached && probe.verifyError, undefined);
    assert.deepEqual(probe.reached && probe.answer, { status: 404, body: "not found" });
  });

  it("fails an expired serving certificate", async () => {
    const past = {
      notBeforeDate: new Date("2020-01-01T00:00:00Z"),
      notAfterDate: new Date("2020-01-02T00:00:00Z"),
    };
    const expired = await issueServing(ca, { dns: [serverName] }, past);
    const server = await startWebhookServer(expired);
    try {
      const [line] = await serve(ca.cert, server.port);
      assert.equal(
        line,
        `FAIL ${label}: the certificate served at 127.0.0.1:${server.port} expired (valid until 2020-01-02T00:00:00.000Z) — fix: renew the serving certificate (self-managed: restart the webhook; cert-manager: kubectl describe certificate; certificates.mode=secret: replace the Secret)`,
      );
    } finally {
      await server.close();
    }
  });

  it("reports a port where nothing listens as not reached", async () => {
    const port = await closedPort();
    const probe = await probeWebhook(
      { host: "127.0.0.1", port, serverName, ca: ca.cert },
      { path: "/mutate", body: "{}" },
      timeouts,
    );
    assert.deepEqual(probe, { reached: false, error: "ECONNREFUSED" });
  });

  it("gives up on a server that accepts the connection but never completes the handshake", async () => {
    const silent = createTcpServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const probe = await probeWebhook(
        { host: "127.0.0.1", port: (silent.address() as AddressInfo).port, serverName, ca: ca.cert },
        { path: "/mutate", body: "{}" },
        { connectMs: 200, answerMs: 200 },
      );
      assert.deepEqual(probe, { reached: false, error: "no TLS handshake within 200 ms" });
    } finally {
      silent.close();
    }
  });
});
