// Pure: what of a missing or damaged Secret, and of the webhooks' live caBundles, can still be used.

import type { X509Certificate } from "node:crypto";
import { bundleTrusts, isValidAt, keyMatches, readableCertificates } from "./inspect.js";
import { secretKeys } from "./material.js";

/** A certificate with its private key, both PEM; the certificate in Node's canonical PEM form. */
export interface KeyedCertificate {
  readonly cert: X509Certificate;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface Salvage {
  /**
   * Every CA valid now that the Secret's ca.crt or a live caBundle still holds, each once, ca.crt's first:
   * a replica may serve a certificate of any of them, so none may leave the caBundle.
   */
  readonly authorities: readonly X509Certificate[];
  /** A CA of `authorities` whose private key ca.key holds: new serving certificates need no new CA. */
  readonly signer: KeyedCertificate | undefined;
  /** tls.crt and tls.key, when the key matches and a CA of `authorities` verifies the certificate now. */
  readonly serving: KeyedCertificate | undefined;
}

/**
 * Salvages `data` (the Secret's, {} when it does not exist) and `liveCaBundles` (PEM, one per webhook): blocks that
 * do not parse are skipped, so a truncated ca.crt loses only its last CA, which a caBundle still holds.
 */
export function salvage(
  data: Readonly<Record<string, string>>,
  liveCaBundles: readonly string[],
  now: number,
): Salvage {
  const authorities: X509Certificate[] = [];
  for (const pem of [data[secretKeys.caBundle] ?? "", ...liveCaBundles]) {
    for (const cert of readableCertificates(pem)) {
      if (!cert.ca || !isValidAt(cert, now)) continue;
      if (!authorities.some((kept) => kept.fingerprint256 === cert.fingerprint256)) authorities.push(cert);
    }
  }
  const caKeyPem = data[secretKeys.caKey] ?? "";
  const signerCa = caKeyPem === "" ? undefined : authorities.find((ca) => keyMatches(ca, caKeyPem));
  const keyPem = data[secretKeys.key] ?? "";
  const cert = readableCertificates(data[secretKeys.cert] ?? "")[0];
  const servingUsable =
    cert !== undefined && !cert.ca && keyMatches(cert, keyPem) && bundleTrusts(authorities, cert, now);
  return {
    authorities,
    signer: signerCa && { cert: signerCa, certPem: signerCa.toString(), keyPem: caKeyPem },
    serving: servingUsable ? { cert, certPem: cert.toString(), keyPem } : undefined,
  };
}
