// The Secret's layout: which key holds what, and turning its data into checked certificates and back.

import type { X509Certificate } from "node:crypto";
import { keyMatches, parseBundle } from "./inspect.js";

/**
 * kubernetes.io/tls keys plus the CA's key, so any replica can issue the next serving certificate
 * under the same CA and the webhook's caBundle need not change on renewal.
 */
export const secretKeys = {
  /** The serving certificate (leaf only). */
  cert: "tls.crt",
  /** Its private key (PKCS#8 PEM). */
  key: "tls.key",
  /** Trusted CAs: the current CA first, then older CAs kept until they expire (during a CA rotation). */
  caBundle: "ca.crt",
  /** Private key of the current CA (the first of ca.crt). */
  caKey: "ca.key",
} as const;

export interface CertificateMaterial {
  readonly caBundlePem: string;
  readonly caKeyPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Material whose certificates parse, whose CA is a CA and whose keys match their certificates. */
export interface CheckedMaterial {
  readonly material: CertificateMaterial;
  /** The current CA, the first of the bundle. */
  readonly ca: X509Certificate;
  /** Every CA of the bundle, the current one first. */
  readonly bundle: readonly X509Certificate[];
  readonly cert: X509Certificate;
}

export type MaterialReading =
  | { readonly ok: true; readonly checked: CheckedMaterial }
  | { readonly ok: false; readonly problem: string };

/** Checks Secret data; an unusable Secret comes back with the reason, for the log. */
export function readMaterial(data: Readonly<Record<string, string>>): MaterialReading {
  const missing = Object.values(secretKeys).filter((key) => !data[key]);
  if (missing.length > 0) return { ok: false, problem: `missing ${missing.join(", ")}` };
  const material: CertificateMaterial = {
    caBundlePem: data[secretKeys.caBundle] ?? "",
    caKeyPem: data[secretKeys.caKey] ?? "",
    certPem: data[secretKeys.cert] ?? "",
    keyPem: data[secretKeys.key] ?? "",
  };
  let bundle: X509Certificate[];
  let cert: X509Certificate | undefined;
  try {
    bundle = parseBundle(material.caBundlePem);
    cert = parseBundle(material.certPem)[0];
  } catch (err) {
    return { ok: false, problem: `a certificate does not parse: ${(err as Error).message}` };
  }
  const ca = bundle[0];
  if (ca === undefined) return { ok: false, problem: `${secretKeys.caBundle} holds no certificate` };
  if (!bundle.every((c) => c.ca))
    return { ok: false, problem: `${secretKeys.caBundle} holds a certificate that is not a CA` };
  if (!keyMatches(ca, material.caKeyPem))
    return {
      ok: false,
      problem: `${secretKeys.caKey} is not the key of the first CA of ${secretKeys.caBundle}`,
    };
  if (cert === undefined) return { ok: false, problem: `${secretKeys.cert} holds no certificate` };
  if (!keyMatches(cert, material.keyPem))
    return { ok: false, problem: `${secretKeys.key} is not the key of ${secretKeys.cert}` };
  return { ok: true, checked: { material, ca, bundle, cert } };
}

/** The Secret data that stores `material`. */
export function materialData(material: CertificateMaterial): Record<string, string> {
  return {
    [secretKeys.cert]: material.certPem,
    [secretKeys.key]: material.keyPem,
    [secretKeys.caBundle]: material.caBundlePem,
    [secretKeys.caKey]: material.caKeyPem,
  };
}
