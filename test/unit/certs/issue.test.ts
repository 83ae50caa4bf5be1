import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { connect, createServer } from "node:tls";
import { dnsNames, isIssuedBy, keyMatches, parseBundle } from "../../../src/certs/inspect.js";
import { issueAuthority, issueServingCertificate, servingDnsNames } from "../../../src/certs/issue.js";

const notBefore = new Date("2030-01-01T00:00:00Z");
const caValidity = { notBefore, notAfter: new Date("2035-01-01T00:00:00Z") };
const leafValidity = { notBefore, notAfter: new Date("2031-01-01T00:00:00Z") };

describe("servingDnsNames", () => {
  it("lists the short, namespaced, svc and cluster.local names of the Service", () => {
    assert.deepEqual(servingDnsNames("wiw", "identity"), [
      "wiw",
      "wiw.identity",
      "wiw.identity.svc",
      "wiw.identity.svc.cluster.local",
    ]);
  });
});

describe("issueAuthority and issueServingCertificate", async () => {
  const ca = await issueAuthority("test-ca", caValidity);
  const leaf = await issueServingCertificate(servingDnsNames("wiw", "identity"), ca, leafValidity);
  const caCert = new X509Certificate(ca.certPem);
  const leafCert = new X509Certificate(leaf.certPem);

  it("issues a CA certificate with its key, for the requested period", () => {
    assert.equal(caCert.ca, true);
    assert.equal(caCert.subject, "CN=test-ca");
    assert.equal(keyMatches(caCert, ca.keyPem), true);
    assert.equal(Date.parse(caCert.validFrom), caValidity.notBefore.getTime());
    assert.equal(Date.parse(caCert.validTo), caValidity.notAfter.getTime());
  });

  it("issues a serving certificate for exactly the given names, signed by the CA, with its key", () => {
    assert.deepEqual(dnsNames(leafCert), servingDnsNames("wiw", "identity"));
    assert.equal(leafCert.subject, "CN=wiw");
    assert.equal(leafCert.ca, false);
    assert.deepEqual(leafCert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
    assert.equal(isIssuedBy(leafCert, caCert), true);
    assert.equal(keyMatches(leafCert, leaf.keyPem), true);
    assert.equal(keyMatches(leafCert, ca.keyPem), false);
    assert.equal(Date.parse(leafCert.validTo), leafValidity.notAfter.getTime());
  });

  it("writes PEM that concatenates into a bundle", () => {
    assert.ok(ca.certPem.endsWith("-----END CERTIFICATE-----\n"));
    assert.deepEqual(
      parseBundle(ca.certPem + leaf.certPem).map((c) => c.serialNumber),
      [caCert.serialNumber, leafCert.serialNumber],
    );
  });

  it("is not verified by another CA", async () => {
    const other = new X509Certificate((await issueAuthority("test-ca", caValidity)).certPem);
    assert.equal(isIssuedBy(leafCert, other), false);
  });

  it("completes a TLS handshake for the Service's svc name with the CA as the only trust anchor", async () => {
    const now = new Date();
    const live = {
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 3_600_000),
    };
    const liveCa = await issueAuthority("live-ca", live);
    const liveLeaf = await issueServingCertificate(servingDnsNames("wiw", "identity"), liveCa, live);
    const server = createServer({ cert: liveLeaf.certPem, key: liveLeaf.keyPem }, (socket) => socket.end());
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const { port } = server.address() as AddressInfo;
      const socket = connect({ host: "127.0.0.1", port, servername: "wiw.identity.svc", ca: liveCa.certPem });
      await once(socket, "secureConnect");
      assert.equal(socket.authorized, true);
      socket.destroy();
    } finally {
      server.close();
    }
  });
});
