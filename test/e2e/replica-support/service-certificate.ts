// Issues the replicas' serving certificate for the Service name the API server verifies (<service>.<namespace>.svc).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generate } from "selfsigned";
import type { ServingCertificate } from "../support/serving-certificate.js";

const validForMs = 24 * 60 * 60 * 1000;

function validity(): { notBeforeDate: Date; notAfterDate: Date } {
  const notBeforeDate = new Date(Date.now() - 60_000);
  return { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + validForMs) };
}

/**
 * Writes service.crt and service.key into dir, valid for the DNS name `serviceHost` only: no IP, so a call
 * that does not ask for the Service name by SNI fails verification.
 */
export async function createServiceCertificate(
  dir: string,
  serviceHost: string,
): Promise<ServingCertificate> {
  const ca = await generate([{ name: "commonName", value: "web-identity-webhook e2e replicas CA" }], {
    ...validity(),
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: "commonName", value: serviceHost }], {
    ...validity(),
    algorithm: "sha256",
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: serviceHost }] },
    ],
  });
  const certPath = join(dir, "service.crt");
  const keyPath = join(dir, "service.key");
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
