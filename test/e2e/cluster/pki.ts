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
  /** Signs a client certificate for commonName (and organizationName, e.g. a group such as system:nodes). */
  issueClientCertificate(subject: ClientSubject): Promise<{ certPem: string; keyPem: string }>;
}

export interface ClientSubject {
  commonName: string;
  organizationName?: string;
}

/** Where the API server's serving certificate is valid; the default is loopback only. */
export interface ServingNames {
  addresses: readonly string[];
  dnsNames: readonly string[];
}

const loopback: ServingNames = { addresses: ["127.0.0.1"], dnsNames: ["localhost"] };

const validForMs = 24 * 60 * 60 * 1000;

function validity(): { notBeforeDate: Date; notAfterDate: Date } {
  // A minute in the past absorbs clock skew between this process and the API server.
  const notBeforeDate = new Date(Date.now() - 60_000);
  return { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + validForMs) };
}

/**
 * Writes a CA, a serving certificate (for 127.0.0.1 and localhost unless `servingNames` say otherwise), an admin
 * client certificate and an RSA ServiceAccount key pair into dir.
 */
export async function createClusterPki(
  dir: string,
  servingNames: ServingNames = loopback,
): Promise<ClusterPki> {
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
          ...servingNames.dnsNames.map((value) => ({ type: 2 as const, value })),
          ...servingNames.addresses.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  const issueClientCertificate = async (subject: ClientSubject) => {
    const issued = await generate(
      [
        { name: "commonName", value: subject.commonName },
        ...(subject.organizationName === undefined
          ? []
          : [{ name: "organizationName", value: subject.organizationName }]),
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
    return { certPem: issued.cert, keyPem: issued.private };
  };
  const admin = await issueClientCertificate({ commonName: "admin", organizationName: "system:masters" });
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
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    saSigningKeyPath: join(dir, "sa.key"),
    saPublicKeyPath: join(dir, "sa.pub"),
    issueClientCertificate,
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
