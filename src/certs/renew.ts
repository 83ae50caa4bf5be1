// Turning a decision into the Secret's next material: issuing what the decision asks for, keeping the rest.

import { X509Certificate } from "node:crypto";
import { formatBundle, notAfter } from "./inspect.js";
import { issueAuthority, issueServingCertificate } from "./issue.js";
import type { CertificateMaterial, CheckedMaterial } from "./material.js";
import type { SecretDecision } from "./plan.js";
import type { Salvage } from "./salvage.js";

const day = 24 * 60 * 60 * 1000;
/** CAs outlive many serving certificates, so renewals keep the caBundle unchanged for years. */
export const caValidityMs = 5 * 365 * day;
/** Certificates start an hour in the past so an API server whose clock lags ours accepts them at once. */
const backdateMs = 60 * 60 * 1000;

export interface IssuePolicy {
  readonly dnsNames: readonly string[];
  readonly leafValidityMs: number;
}

/** The material to store for `decision` (neither "keep" nor "recover"); `current` is the Secret's checked material. */
export async function nextMaterial(
  decision: Exclude<SecretDecision, { kind: "keep" | "recover" }>,
  current: CheckedMaterial,
  now: number,
  policy: IssuePolicy,
): Promise<CertificateMaterial> {
  const stillTrusted = current.bundle.filter((ca, i) => i === 0 || now < notAfter(ca));
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

/**
 * The material that replaces a missing or unusable Secret: every salvaged CA stays in the bundle, behind the
 * salvaged signer or, when ca.key was lost, a new CA; a salvaged serving certificate stays until the rotation
 * grace has passed (decide moves it then), as after a CA rotation.
 */
export async function recoveredMaterial(
  salvaged: Salvage,
  now: number,
  policy: IssuePolicy,
): Promise<CertificateMaterial> {
  const signer = salvaged.signer ?? (await newAuthority(now));
  const signerCa = new X509Certificate(signer.certPem);
  const others = salvaged.authorities.filter((ca) => ca.fingerprint256 !== signerCa.fingerprint256);
  const serving =
    salvaged.serving ??
    (await issueServingCertificate(policy.dnsNames, signer, leafValidity(now, policy, signer)));
  return {
    caBundlePem: signer.certPem + formatBundle(others),
    caKeyPem: signer.keyPem,
    certPem: serving.certPem,
    keyPem: serving.keyPem,
  };
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
