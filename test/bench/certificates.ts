// Certificates for the benchmark's loopback servers: one CA, and a leaf for 127.0.0.1 the clients verify.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generate } from "selfsigned";
import { issueAuthority } from "../../src/certs/issue.js";

export interface BenchCertificates {
  readonly caPem: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPath: string;
}

/** Issues a CA and a serving certificate for 127.0.0.1 and localhost, and writes the PEMs into `dir`. */
export async function writeBenchCertificates(dir: string): Promise<BenchCertificates> {
  const notBefore = new Date(Date.now() - 60_000);
  const validity = { notBefore, notAfter: new Date(notBefore.getTime() + 24 * 3600_000) };
  const ca = await issueAuthority("web-identity-webhook bench CA", validity);
  // The webhook's own issuer only writes DNS names; the clients here dial an IP, so the leaf needs an IP SAN.
  const leaf = await generate([{ name: "commonName", value: "localhost" }], {
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
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
        ],
      },
    ],
  });
  const paths = {
    certPath: join(dir, "tls.crt"),
    keyPath: join(dir, "tls.key"),
    caPath: join(dir, "ca.crt"),
  };
  await writeFile(paths.certPath, leaf.cert);
  await writeFile(paths.keyPath, leaf.private, { mode: 0o600 });
  await writeFile(paths.caPath, ca.certPem);
  return { caPem: ca.certPem, ...paths };
}
