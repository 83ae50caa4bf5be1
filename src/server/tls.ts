// The serving certificate: TLS settings, checking a certificate against its key, and the pair the server presents now.

import { createPrivateKey, X509Certificate } from "node:crypto";
import type { SecureContextOptions, TlsOptions } from "node:tls";

/**
 * TLS 1.2 and 1.3 only, forward-secret AEAD suites only (what the Kubernetes API server's Go client offers first).
 * The server's order wins, so AES-GCM is chosen over CHACHA20 where the client supports both.
 */
export const tlsSettings = {
  minVersion: "TLSv1.2",
  ciphers: [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ].join(":"),
  honorCipherOrder: true,
} as const satisfies TlsOptions;

export interface CertificatePair {
  /** The certificate, or a chain with the serving certificate first, as PEM. */
  readonly certPem: string;
  readonly keyPem: string;
  /** The serving certificate (the first of certPem). */
  readonly certificate: X509Certificate;
}

export type PairReading =
  | { readonly ok: true; readonly pair: CertificatePair }
  | { readonly ok: false; readonly problem: string };

const firstPemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** Parses a PEM certificate (chain) and key and checks that the key is the certificate's. */
export function readPair(certPem: string, keyPem: string): PairReading {
  const block = firstPemCertificate.exec(certPem)?.[0];
  if (block === undefined)
    return { ok: false, problem: "the certificate file holds no PEM CERTIFICATE block" };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(block);
  } catch (error) {
    return { ok: false, problem: `the certificate does not parse: ${(error as Error).message}` };
  }
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(keyPem));
  } catch (error) {
    return { ok: false, problem: `the private key does not parse: ${(error as Error).message}` };
  }
  if (!matches) return { ok: false, problem: "the private key is not the key of the certificate" };
  return { ok: true, pair: { certPem, keyPem, certificate } };
}

/** notAfter of a certificate in seconds since the epoch. */
export function expirySeconds(certificate: X509Certificate): number {
  return Date.parse(certificate.validTo) / 1000;
}

/** The secure context options that present `pair` with our TLS settings. */
export function secureContextOptions(pair: CertificatePair): SecureContextOptions & TlsOptions {
  return { ...tlsSettings, cert: pair.certPem, key: pair.keyPem };
}

/**
 * The pair the HTTPS server presents now. Files (watchCertificateFiles) or the self-managed certificate
 * controller install new pairs; the server swaps its secure context on each, without a restart.
 */
export class ServingCertificate {
  #current: CertificatePair | undefined;
  readonly #listeners = new Set<(pair: CertificatePair) => void>();

  current(): CertificatePair | undefined {
    return this.#current;
  }

  isLoaded(): boolean {
    return this.#current !== undefined;
  }

  /** Presents this pair from now on, when the key matches; otherwise keeps the current one and says why. */
  install(certPem: string, keyPem: string): PairReading {
    const reading = readPair(certPem, keyPem);
    if (!reading.ok) return reading;
    this.#current = reading.pair;
    for (const listener of this.#listeners) listener(reading.pair);
    return reading;
  }

  /** Calls `listener` on every installed pair; returns the function that stops it. */
  onInstall(listener: (pair: CertificatePair) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
