// Turning a decision into the Secret's next material: issuing what the decision asks for, keeping the rest.

import { X509Certificate } from "node:crypto";
import { formatBundle, notAfter } from "./inspect.js";
import { issueAuthority, issueServingCertificate } from "./issue.js";
import type { CertificateMaterial, CheckedMaterial } from "./material.js";
import type { SecretDecision } from "./plan.js";

const day = 24 * 60 * 60 * 1000;
/** CAs outlive many serving certificates, so renewals keep the caBundle unchanged for years. */
export const caValidityMs = 5 * 365 * day;
/** Certificates start an hour in the past so an API server whose clock lags ours accepts them at once. */
const backdateMs = 60 * 60 * 1000;

export interface IssuePolicy {
  readonly dnsNames: readonly string[];
  readonly leafValidityMs: number;
}

/** The material to store for `decision` (not "keep"); `current` is the Secret's checked material, if usable. */
export async function nextMaterial(
  decision: Exclude<SecretDecision, { kind: "keep" }>,
  current: CheckedMaterial | undefined,
  now: number,
  policy: IssuePolicy,
): Promise<CertificateMaterial> {
  const stillTrusted = current ? current.bundle.filter((ca, i) => i === 0 || now < notAfter(ca)) : [];
  if (decision.kind === "issue-all" || current === undefined) {
    const ca = await newAuthority(now);
    const leaf = await issueServingCertificate(policy.dnsNames, ca, leafValidity(now, policy, ca));
    return { caBundlePem: ca.certPem, caKeyPem: ca.keyPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
  }
  const { material } = current;
  switch (decision.kind) {
    case "rotate-ca": {
      const ca = await newAuthority(now);
      return { ...material, caBundlePem: ca.certPem + formatBundle(stillTrusted), caKeyPem: ca.keyPem };
    }
    case "issue-leaf": {
      const ca = { certPem: current.ca.toString(), keyPem: material.caKeyPem };
      const leaf = await issueServingCertificate(policy.dnsNames, ca, leafValidity(now, policy, ca));
      return {
        ...material,
        caBundlePem: formatBundle(stillTrusted),
        certPem: leaf.certPem,
        keyPem: leaf.keyPem,
      };
    }
    case "prune":
      return { ...material, caBundlePem: formatBundle(stillTrusted) };
  }
}

function newAuthority(now: number) {
  return issueAuthority(`web-identity-webhook-ca-${Math.floor(now / 1000)}`, {
    notBefore: new Date(now - backdateMs),
    notAfter: new Date(now + caValidityMs),
  });
}

/** A serving certificate never outlives its CA. */
function leafValidity(now: number, policy: IssuePolicy, ca: { readonly certPem: string }) {
  const caEnd = notAfter(new X509Certificate(ca.certPem));
  return {
    notBefore: new Date(now - backdateMs),
    notAfter: new Date(Math.min(now + policy.leafValidityMs, caEnd)),
  };
}
