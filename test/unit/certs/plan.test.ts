import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { issueAuthority, issueServingCertificate, servingDnsNames } from "../../../src/certs/issue.js";
import { type MaterialReading, readMaterial } from "../../../src/certs/material.js";
import { decide, type RenewalPolicy } from "../../../src/certs/plan.js";

const day = 24 * 60 * 60 * 1000;
const t0 = Date.parse("2030-01-01T00:00:00Z");
const names = servingDnsNames("wiw", "identity");
const policy: RenewalPolicy = { dnsNames: names, renewBeforeMs: 30 * day, caRotationGraceMs: 120_000 };

const ca = await issueAuthority("ca-1", { notBefore: new Date(t0), notAfter: new Date(t0 + 1000 * day) });
const nextCa = await issueAuthority("ca-2", {
  notBefore: new Date(t0 + 980 * day),
  notAfter: new Date(t0 + 2000 * day),
});
const leaf = await issueServingCertificate(names, ca, {
  notBefore: new Date(t0),
  notAfter: new Date(t0 + 365 * day),
});
const otherNames = await issueServingCertificate(servingDnsNames("irsa", "identity"), ca, {
  notBefore: new Date(t0),
  notAfter: new Date(t0 + 365 * day),
});

function reading(
  caBundlePem: string,
  caKeyPem: string,
  issued: { certPem: string; keyPem: string },
): MaterialReading {
  return readMaterial({
    "tls.crt": issued.certPem,
    "tls.key": issued.keyPem,
    "ca.crt": caBundlePem,
    "ca.key": caKeyPem,
  });
}

const current = reading(ca.certPem, ca.keyPem, leaf);
// After a rotation: the new CA leads the bundle, the certificate is still the old CA's (valid to its end).
const lastOldLeaf = await issueServingCertificate(names, ca, {
  notBefore: new Date(t0 + 900 * day),
  notAfter: new Date(t0 + 1000 * day),
});
const rotated = reading(nextCa.certPem + ca.certPem, nextCa.keyPem, lastOldLeaf);

describe("decide", () => {
  const cases: {
    name: string;
    reading: MaterialReading | undefined;
    at: number;
    trustedFor?: number;
    expected: string;
  }[] = [
    { name: "recovers when there is no Secret", reading: undefined, at: t0, expected: "recover" },
    {
      name: "recovers when the Secret lacks keys",
      reading: readMaterial({ "tls.crt": leaf.certPem }),
      at: t0,
      expected: "recover",
    },
    {
      name: "recovers when ca.key does not belong to the CA",
      reading: reading(ca.certPem, leaf.keyPem, leaf),
      at: t0,
      expected: "recover",
    },
    { name: "keeps a certificate far from expiry", reading: current, at: t0 + 100 * day, expected: "keep" },
    {
      name: "renews a certificate within the renewal window",
      reading: current,
      at: t0 + 336 * day,
      expected: "issue-leaf",
    },
    { name: "renews an expired certificate", reading: current, at: t0 + 400 * day, expected: "issue-leaf" },
    {
      name: "renews a certificate for other names",
      reading: reading(ca.certPem, ca.keyPem, otherNames),
      at: t0,
      expected: "issue-leaf",
    },
    {
      name: "rotates a CA within the renewal window",
      reading: current,
      at: t0 + 975 * day,
      expected: "rotate-ca",
    },
    {
      name: "recovers when the CA has expired",
      reading: current,
      at: t0 + 1001 * day,
      expected: "recover",
    },
    {
      name: "keeps the old CA's certificate until the webhook has trusted the new CA for the grace period",
      reading: rotated,
      at: t0 + 985 * day,
      trustedFor: 60_000,
      expected: "keep",
    },
    {
      name: "moves the certificate to the new CA after the grace period",
      reading: rotated,
      at: t0 + 985 * day,
      trustedFor: 120_000,
      expected: "issue-leaf",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const decision = decide({ reading: c.reading, now: c.at, caTrustedForMs: c.trustedFor ?? 0 }, policy);
      assert.equal(decision.kind, c.expected);
    });
  }

  it("prunes a CA that has expired from the bundle", async () => {
    const later = await issueServingCertificate(names, nextCa, {
      notBefore: new Date(t0 + 980 * day),
      notAfter: new Date(t0 + 1300 * day),
    });
    const decision = decide(
      {
        reading: reading(nextCa.certPem + ca.certPem, nextCa.keyPem, later),
        now: t0 + 1001 * day,
        caTrustedForMs: 0,
      },
      policy,
    );
    assert.equal(decision.kind, "prune");
  });
});
