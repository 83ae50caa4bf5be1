// Pure: given the Secret as read and the time, what to do with it (keep, renew, rotate the CA, start over).

import { bundleTrusts, dnsNames, isIssuedBy, isValidAt, notAfter } from "./inspect.js";
import type { CertificateMaterial, MaterialReading } from "./material.js";

export interface RenewalPolicy {
  /** The DNS names the serving certificate must carry, in order. */
  readonly dnsNames: readonly string[];
  /** Renew a certificate (or rotate a CA) this long before it expires. */
  readonly renewBeforeMs: number;
  /**
   * After a CA rotation, how long the webhook configuration must have trusted the new CA before the
   * serving certificate moves to it, so the API server has loaded the new caBundle first.
   */
  readonly caRotationGraceMs: number;
}

export interface Situation {
  /** The Secret's data, checked; undefined when the Secret does not exist. */
  readonly reading: MaterialReading | undefined;
  readonly now: number;
  /** How long every webhook of the configuration has been seen trusting the current CA; 0 if not. */
  readonly caTrustedForMs: number;
}

export type SecretDecision =
  /** The stored material is fine as it is. */
  | { readonly kind: "keep"; readonly material: CertificateMaterial }
  /**
   * The Secret is missing or unusable: rebuild it from what still parses in it and in the live caBundles
   * (see salvage.ts), keeping every CA that may verify a replica's certificate.
   */
  | { readonly kind: "recover"; readonly reason: string }
  /** A new CA put in front of the bundle; the serving certificate stays until the new CA is trusted. */
  | { readonly kind: "rotate-ca"; readonly reason: string }
  /** A new serving certificate under the current CA. */
  | { readonly kind: "issue-leaf"; readonly reason: string }
  /** Drop expired CAs from the bundle. */
  | { readonly kind: "prune"; readonly reason: string };

export function decide(situation: Situation, policy: RenewalPolicy): SecretDecision {
  const { reading, now } = situation;
  if (reading === undefined) return { kind: "recover", reason: "the Secret does not exist" };
  if (!reading.ok) return { kind: "recover", reason: `the Secret is unusable: ${reading.problem}` };
  const { ca, bundle, cert, material } = reading.checked;
  if (!isValidAt(ca, now))
    return { kind: "recover", reason: `the CA is not valid now (${ca.validFrom} to ${ca.validTo})` };
  if (notAfter(ca) - now <= policy.renewBeforeMs) {
    return { kind: "rotate-ca", reason: `the CA expires ${ca.validTo}` };
  }
  if (!bundleTrusts(bundle, cert, now)) {
    return {
      kind: "issue-leaf",
      reason: "the serving certificate is not valid now or not issued by a CA of the bundle",
    };
  }
  if (!isIssuedBy(cert, ca)) {
    if (situation.caTrustedForMs < policy.caRotationGraceMs) return { kind: "keep", material };
    return {
      kind: "issue-leaf",
      reason: "the serving certificate is from the previous CA and the webhook trusts the new one",
    };
  }
  if (notAfter(cert) - now <= policy.renewBeforeMs) {
    return { kind: "issue-leaf", reason: `the serving certificate expires ${cert.validTo}` };
  }
  const names = dnsNames(cert);
  if (names.length !== policy.dnsNames.length || names.some((name, i) => name !== policy.dnsNames[i])) {
    return {
      kind: "issue-leaf",
      reason: `the serving certificate is for ${names.join(", ")}, not ${policy.dnsNames.join(", ")}`,
    };
  }
  if (bundle.some((c) => notAfter(c) <= now))
    return { kind: "prune", reason: "the bundle holds an expired CA" };
  return { kind: "keep", material };
}
