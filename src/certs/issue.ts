// Issuing the CA and the serving certificate (ECDSA P-256, SHA-256) with selfsigned; no crypto of our own.

import { X509Certificate } from "node:crypto";

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** The names the API server may use for a Service: name, name.ns, name.ns.svc, name.ns.svc.cluster.local. */
export function servingDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

/** A self-signed CA that may sign serving certificates (basicConstraints CA, pathlen 0). */
export async function issueAuthority(commonName: string, validity: Validity): Promise<IssuedCertificate> {
  const pems = await (await selfsigned()).generate([{ name: "commonName", value: commonName }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: validity.notBefore,
    notAfterDate: validity.notAfter,
    extensions: [
      { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { certPem: canonicalPem(pems.cert), keyPem: pems.private };
}

/** A TLS server certificate for `names` (the first is the subject CN), signed by `ca`. */
export async function issueServingCertificate(
  names: readonly string[],
  ca: IssuedCertificate,
  validity: Validity,
): Promise<IssuedCertificate> {
  const pems = await (await selfsigned()).generate([{ name: "commonName", value: names[0] ?? "" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: validity.notBefore,
    notAfterDate: validity.notAfter,
    ca: { cert: ca.certPem, key: ca.keyPem },
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: names.map((value) => ({ type: 2 as const, value })) },
    ],
  });
  return { certPem: canonicalPem(pems.cert), keyPem: pems.private };
}

/** Node's PEM form (64-column lines, trailing newline), so bundles concatenate and compare cleanly. */
function canonicalPem(certPem: string): string {
  return new X509Certificate(certPem).toString();
}

/**
 * selfsigned and its crypto libraries, loaded when a certificate is issued, not when serve starts: importing
 * them measured about 15 MiB of resident memory that a webhook whose Secret already holds a pair never uses.
 */
function selfsigned(): Promise<typeof import("selfsigned")> {
  return import("selfsigned");
}
