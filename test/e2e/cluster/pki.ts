// Generates the e2e control plane's certificates and ServiceAccount signing key into a directory.
import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generate } from "selfsigned";

/** PEM material of the test cluster, and where each piece was written. */
export interface ClusterPki {
  caCertPem: string;
  caCertPath: string;
  servingCertPath: string;
  servingKeyPath: string;
  adminCertPem: string;
  adminKeyPem: string;
  saSigningKeyPath: string;
  saPublicKeyPath: string;
}

const validForMs = 24 * 60 * 60 * 1000;

function validity(): { notBeforeDate: Date; notAfterDate: Date } {
  // A minute in the past absorbs clock skew between this process and the API server.
  const notBeforeDate = new Date(Date.now() - 60_000);
  return { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + validForMs) };
}

/** Writes a CA, a 127.0.0.1/localhost serving certificate, an admin client certificate and an RSA ServiceAccount key pair into dir. */
export async function createClusterPki(dir: string): Promise<ClusterPki> {
  const ca = await generate([{ name: "commonName", value: "web-identity-webhook e2e CA" }], {
    ...validity(),
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const signer = { key: ca.private, cert: ca.cert };
  const serving = await generate([{ name: "commonName", value: "kube-apiserver" }], {
    ...validity(),
    algorithm: "sha256",
    ca: signer,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
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
  const admin = await generate(
    [
      { name: "commonName", value: "admin" },
      { name: "organizationName", value: "system:masters" },
    ],
    {
      ...validity(),
      algorithm: "sha256",
      ca: signer,
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", clientAuth: true },
      ],
    },
  );
  const serviceAccountKey = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });

  const pki: ClusterPki = {
    caCertPem: ca.cert,
    caCertPath: join(dir, "ca.crt"),
    servingCertPath: join(dir, "apiserver.crt"),
    servingKeyPath: join(dir, "apiserver.key"),
    adminCertPem: admin.cert,
    adminKeyPem: admin.private,
    saSigningKeyPath: join(dir, "sa.key"),
    saPublicKeyPath: join(dir, "sa.pub"),
  };
  await Promise.all([
    writeFile(pki.caCertPath, ca.cert),
    writeFile(pki.servingCertPath, serving.cert),
    writeFile(pki.servingKeyPath, serving.private, { mode: 0o600 }),
    writeFile(pki.saSigningKeyPath, serviceAccountKey.privateKey, { mode: 0o600 }),
    writeFile(pki.saPublicKeyPath, serviceAccountKey.publicKey),
  ]);
  return pki;
}
