// Issues the e2e webhooks' serving certificate: a CA (the caBundle the API server trusts) and a 127.0.0.1 leaf.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generate } from "selfsigned";

export interface ServingCertificate {
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
  caCertPem: string;
  /** Base64 of caCertPem, for clientConfig.caBundle. */
  caBundle: string;
}

const validForMs = 24 * 60 * 60 * 1000;

function validity(): { notBeforeDate: Date; notAfterDate: Date } {
  const notBeforeDate = new Date(Date.now() - 60_000);
  return { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + validForMs) };
}

/** Writes webhook.crt and webhook.key (valid for IP 127.0.0.1 and localhost) into dir. */
export async function createServingCertificate(dir: string): Promise<ServingCertificate> {
  const ca = await generate([{ name: "commonName", value: "web-identity-webhook e2e webhook CA" }], {
    ...validity(),
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: "commonName", value: "127.0.0.1" }], {
    ...validity(),
    algorithm: "sha256",
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: "localhost" },
        ],
      },
    ],
  });
  const certPath = join(dir, "webhook.crt");
  const keyPath = join(dir, "webhook.key");
  await Promise.all([writeFile(certPath, leaf.cert), writeFile(keyPath, leaf.private, { mode: 0o600 })]);
  return {
    certPath,
    keyPath,
    certPem: leaf.cert,
    keyPem: leaf.private,
    caCertPem: ca.cert,
    caBundle: Buffer.from(ca.cert).toString("base64"),
  };
}
