// Reading the certificates we hold with node:crypto: PEM bundles, validity, names, issuers, key pairs.

import { createPrivateKey, X509Certificate } from "node:crypto";

const pemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, in order; throws if one does not parse. */
export function parseBundle(pem: string): X509Certificate[] {
  return (pem.match(pemCertificate) ?? []).map((block) => new X509Certificate(block));
}

const pemBegin = "-----BEGIN CERTIFICATE-----";
const pemEnd = "-----END CERTIFICATE-----";

/**
 * The certificates of the PEM blocks that parse, skipping truncated and garbled blocks: the API server reads a
 * caBundle this way (Go's CertPool.AppendCertsFromPEM), so a CA beside garbage still verifies.
 */
export function readableCertificates(pem: string): X509Certificate[] {
  const readable: X509Certificate[] = [];
  for (const block of pem.split(pemBegin).slice(1)) {
    const end = block.indexOf(pemEnd);
    if (end < 0) continue;
    try {
      readable.push(new X509Certificate(`${pemBegin}${block.slice(0, end)}${pemEnd}`));
    } catch {
      // A block that does not parse is skipped, as the API server skips it.
    }
  }
  return readable;
}

/** The PEM text of certificates, one after another. */
export function formatBundle(certificates: readonly X509Certificate[]): string {
  return certificates.map((c) => c.toString()).join("");
}

export function notBefore(cert: X509Certificate): number {
  return Date.parse(cert.validFrom);
}

export function notAfter(cert: X509Certificate): number {
  return Date.parse(cert.validTo);
}

export function isValidAt(cert: X509Certificate, now: number): boolean {
  return notBefore(cert) <= now && now < notAfter(cert);
}

/** The DNS names of the subjectAltName extension, in order. */
export function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? "")
    .split(", ")
    .filter((entry) => entry.startsWith("DNS:"))
    .map((entry) => entry.slice("DNS:".length));
}

/** True when `ca` is a CA certificate whose key signed `cert`. */
export function isIssuedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** True when `cert` is valid at `now` and was issued by a CA of `bundle` that is valid at `now`. */
export function bundleTrusts(
  bundle: readonly X509Certificate[],
  cert: X509Certificate,
  now: number,
): boolean {
  return isValidAt(cert, now) && bundle.some((ca) => isValidAt(ca, now) && isIssuedBy(cert, ca));
}

/** True when `keyPem` is the private key of `cert`. */
export function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}
