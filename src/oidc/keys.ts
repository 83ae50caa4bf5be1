// ServiceAccount signing keys: PEM text → public keys with the kid and alg kube-apiserver gives them.

import { createHash, createPublicKey, type KeyObject, X509Certificate } from "node:crypto";

/** The JWS algorithms kube-apiserver signs ServiceAccount tokens with (pkg/serviceaccount/jwt.go). */
export type SigningAlgorithm = "RS256" | "ES256" | "ES384" | "ES512";

export interface ServiceAccountKey {
  readonly publicKey: KeyObject;
  /** kube-apiserver's key ID: base64url(SHA-256(PKIX DER of the public key)), no padding. */
  readonly keyId: string;
  readonly algorithm: SigningAlgorithm;
  /** Where the key came from, for messages: `file.pem` block number and PEM label. */
  readonly origin: string;
}

export interface ParsedKeys {
  readonly keys: readonly ServiceAccountKey[];
  /** Things that work here but will surprise the operator elsewhere (e.g. a file kube-apiserver cannot read). */
  readonly warnings: readonly string[];
}

export class KeyError extends Error {
  override readonly name = "KeyError";
}

const curveAlgorithms: Readonly<Record<string, SigningAlgorithm>> = {
  prime256v1: "ES256",
  secp384r1: "ES384",
  secp521r1: "ES512",
};

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/**
 * Every public key in a PEM file, in file order. Accepts what kube-apiserver's --service-account-key-file
 * accepts (PKIX public keys, PKCS#1 and PKCS#8 RSA private keys, SEC1 and PKCS#8 EC private keys,
 * certificates, several blocks per file, "EC PARAMETERS" blocks skipped) plus PKCS#1 "RSA PUBLIC KEY" blocks,
 * which kube-apiserver rejects (so they come with a warning).
 */
export function parseServiceAccountKeys(pem: string, source: string): ParsedKeys {
  const keys: ServiceAccountKey[] = [];
  const warnings: string[] = [];
  let index = 0;
  for (const match of pem.matchAll(pemBlock)) {
    index++;
    const label = match[1] as string;
    const origin = `${source} block ${index} (${label})`;
    if (label === "EC PARAMETERS") continue;
    if (label === "ENCRYPTED PRIVATE KEY" || /Proc-Type:\s*4,ENCRYPTED/.test(match[2] as string)) {
      throw new KeyError(
        `${origin}: the key is encrypted; kube-apiserver cannot read encrypted keys either — pass the public key (openssl pkey -in KEY -pubout)`,
      );
    }
    const publicKey = publicKeyOf(match[0], label, origin);
    keys.push({ publicKey, keyId: keyIdOf(publicKey), algorithm: algorithmOf(publicKey, origin), origin });
    if (label === "RSA PUBLIC KEY") {
      warnings.push(
        `${origin}: kube-apiserver's --service-account-key-file does not read PKCS#1 public keys; ` +
          `give it the PKIX form: openssl rsa -RSAPublicKey_in -in ${source} -pubout`,
      );
    }
  }
  if (keys.length === 0) {
    throw new KeyError(
      `${source}: no RSA or EC key found; expected PEM blocks such as "PUBLIC KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY" or "PRIVATE KEY"`,
    );
  }
  return { keys, warnings };
}

/** kube-apiserver's keyIDFromPublicKey: SHA-256 over the PKIX (SubjectPublicKeyInfo) DER, base64url without padding. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("base64url");
}

function publicKeyOf(blockText: string, label: string, origin: string): KeyObject {
  try {
    if (label === "CERTIFICATE") return new X509Certificate(blockText).publicKey;
    // createPublicKey derives the public half when it is given a private key.
    return createPublicKey({ key: blockText, format: "pem" });
  } catch (error) {
    throw new KeyError(`${origin}: not a readable key (${(error as Error).message})`);
  }
}

function algorithmOf(publicKey: KeyObject, origin: string): SigningAlgorithm {
  if (publicKey.asymmetricKeyType === "rsa") return "RS256";
  if (publicKey.asymmetricKeyType === "ec") {
    const curve = publicKey.asymmetricKeyDetails?.namedCurve ?? "unknown";
    const algorithm = curveAlgorithms[curve];
    if (algorithm) return algorithm;
    throw new KeyError(
      `${origin}: EC curve ${curve} is not one kube-apiserver signs with (P-256, P-384, P-521)`,
    );
  }
  throw new KeyError(
    `${origin}: ${publicKey.asymmetricKeyType ?? "unknown"} keys are not supported; kube-apiserver signs ServiceAccount tokens only with RSA or EC keys`,
  );
}
