import assert from "node:assert/strict";
import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { KeyError, keyIdOf, parseServiceAccountKeys } from "../../../src/oidc/keys.js";
import { kubernetesKids, readFixture } from "./fixtures.js";

/** The kid computed here, independently of src/: SPKI DER → SHA-256 → base64url. */
function independentKid(pem: string): string {
  const der = createPublicKey(pem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64url");
}

describe("parseServiceAccountKeys", () => {
  const cases = [
    { file: "rsa-public-pkix.pem", kid: kubernetesKids.rsa, algorithm: "RS256" },
    { file: "rsa-public-pkcs1.pem", kid: kubernetesKids.rsa, algorithm: "RS256" },
    { file: "rsa-private-pkcs1.pem", kid: kubernetesKids.rsa, algorithm: "RS256" },
    { file: "rsa-private-pkcs8.pem", kid: kubernetesKids.rsa, algorithm: "RS256" },
    { file: "rsa-certificate.pem", kid: kubernetesKids.rsa, algorithm: "RS256" },
    { file: "ec-p256-public.pem", kid: kubernetesKids.ecP256, algorithm: "ES256" },
    { file: "ec-p256-private.pem", kid: kubernetesKids.ecP256, algorithm: "ES256" },
  ];
  for (const { file, kid, algorithm } of cases) {
    it(`reads ${file} with kube-apiserver's kid and alg`, () => {
      const { keys } = parseServiceAccountKeys(readFixture(file), file);
      assert.equal(keys.length, 1);
      assert.equal(keys[0]?.keyId, kid);
      assert.equal(keys[0]?.algorithm, algorithm);
      assert.equal(keys[0]?.publicKey.type, "public");
    });
  }

  it("computes the same kid as an independent SPKI-DER SHA-256 in the test", () => {
    for (const file of ["rsa-public-pkix.pem", "ec-p256-public.pem"]) {
      const { keys } = parseServiceAccountKeys(readFixture(file), file);
      assert.equal(keys[0]?.keyId, independentKid(readFixture(file)));
    }
  });

  it("reads every key of a PEM file that holds several, in file order", () => {
    const { keys } = parseServiceAccountKeys(readFixture("rotation-public-keys.pem"), "sa.pub");
    assert.deepEqual(
      keys.map((k) => [k.keyId, k.algorithm, k.origin]),
      [
        [kubernetesKids.rsa, "RS256", "sa.pub block 1 (PUBLIC KEY)"],
        [kubernetesKids.ecP256, "ES256", "sa.pub block 2 (PUBLIC KEY)"],
      ],
    );
  });

  it("skips the EC PARAMETERS block openssl ecparam writes before the key", () => {
    const { keys } = parseServiceAccountKeys(readFixture("ec-p256-private.pem"), "ec.pem");
    assert.equal(keys[0]?.origin, "ec.pem block 2 (EC PRIVATE KEY)");
  });

  it("warns that kube-apiserver cannot read a PKCS#1 public key, and only then", () => {
    assert.deepEqual(parseServiceAccountKeys(readFixture("rsa-public-pkcs1.pem"), "sa.pub").warnings, [
      "sa.pub block 1 (RSA PUBLIC KEY): kube-apiserver's --service-account-key-file does not read PKCS#1 public keys; " +
        "give it the PKIX form: openssl rsa -RSAPublicKey_in -in sa.pub -pubout",
    ]);
    assert.deepEqual(parseServiceAccountKeys(readFixture("rsa-public-pkix.pem"), "sa.pub").warnings, []);
  });

  it("maps P-384 and P-521 keys to ES384 and ES512", () => {
    for (const [namedCurve, algorithm] of [
      ["P-384", "ES384"],
      ["P-521", "ES512"],
    ] as const) {
      const pem = generateKeyPairSync("ec", { namedCurve }).publicKey.export({ type: "spki", format: "pem" });
      const { keys } = parseServiceAccountKeys(pem.toString(), "k.pem");
      assert.equal(keys[0]?.algorithm, algorithm);
      assert.equal(keys[0]?.keyId, independentKid(pem.toString()));
    }
  });

  const rejected = [
    {
      name: "a file without any PEM block",
      pem: "not a key at all\n",
      message:
        'k.pem: no RSA or EC key found; expected PEM blocks such as "PUBLIC KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY" or "PRIVATE KEY"',
    },
    {
      name: "a PEM block that is not a key",
      pem: readFixture("garbage.pem"),
      message: /^k\.pem block 1 \(CERTIFICATE REQUEST\): not a readable key/,
    },
    {
      name: "an Ed25519 key",
      pem: generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString(),
      message:
        "k.pem block 1 (PUBLIC KEY): ed25519 keys are not supported; kube-apiserver signs ServiceAccount tokens only with RSA or EC keys",
    },
    {
      name: "an EC key on a curve kube-apiserver does not sign with",
      pem: generateKeyPairSync("ec", { namedCurve: "secp256k1" })
        .publicKey.export({ type: "spki", format: "pem" })
        .toString(),
      message:
        "k.pem block 1 (PUBLIC KEY): EC curve secp256k1 is not one kube-apiserver signs with (P-256, P-384, P-521)",
    },
    {
      name: "an encrypted private key",
      pem: generateKeyPairSync("rsa", {
        modulusLength: 2048,
        privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "secret" },
        publicKeyEncoding: { type: "spki", format: "pem" },
      }).privateKey,
      message: /^k\.pem block 1 \(ENCRYPTED PRIVATE KEY\): the key is encrypted/,
    },
  ];
  for (const { name, pem, message } of rejected) {
    it(`rejects ${name}, naming the file and block`, () => {
      assert.throws(
        () => parseServiceAccountKeys(pem, "k.pem"),
        (error: unknown) => {
          assert.ok(error instanceof KeyError);
          if (typeof message === "string") assert.equal(error.message, message);
          else assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});

describe("keyIdOf", () => {
  it("equals the value derived with the Kubernetes algorithm in Go", () => {
    assert.equal(keyIdOf(createPublicKey(readFixture("rsa-private-pkcs8.pem"))), kubernetesKids.rsa);
    assert.equal(keyIdOf(createPublicKey(readFixture("ec-p256-private.pem"))), kubernetesKids.ecP256);
  });
});
