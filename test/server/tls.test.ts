import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ensureSelfSignedCertificate } from "../../src/server/self-signed.js";
import { readPair } from "../../src/server/tls.js";
import { handshake } from "./support/https-client.js";
import { selfSignedPair } from "./support/secret-volume.js";
import { startTestWebhook } from "./support/webhook.js";

describe("TLS", () => {
  test("refuses a TLS 1.1 client and serves TLS 1.2 with an ECDHE AEAD suite, and TLS 1.3", async () => {
    const webhook = await startTestWebhook();
    try {
      // OpenSSL 3 only offers TLS 1.1 at security level 0; the refusal must come from the server.
      await assert.rejects(
        handshake(webhook.port, webhook.ca, {
          minVersion: "TLSv1.1",
          maxVersion: "TLSv1.1",
          ciphers: "DEFAULT@SECLEVEL=0",
        }),
        (error: NodeJS.ErrnoException) => {
          assert.equal(error.code, "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
          return true;
        },
      );
      const tls12 = await handshake(webhook.port, webhook.ca, { maxVersion: "TLSv1.2" });
      assert.equal(tls12.protocol, "TLSv1.2");
      assert.match(
        tls12.cipher,
        /^ECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$/,
      );
      await assert.rejects(
        handshake(webhook.port, webhook.ca, {
          maxVersion: "TLSv1.2",
          ciphers: "AES128-SHA256:AES128-GCM-SHA256",
        }),
      );
      assert.equal((await handshake(webhook.port, webhook.ca, {})).protocol, "TLSv1.3");
    } finally {
      await webhook.stop();
    }
  });
});

describe("readPair", () => {
  test("accepts a certificate with its own key", async () => {
    const pair = await selfSignedPair();
    const reading = readPair(pair.certPem, pair.keyPem);
    assert.ok(reading.ok);
    assert.equal(reading.pair.certificate.fingerprint256, pair.fingerprint256);
  });

  test("rejects a certificate with another certificate's key, and text that is not PEM", async () => {
    const [first, second] = await Promise.all([selfSignedPair(), selfSignedPair()]);
    assert.deepEqual(readPair(first.certPem, second.keyPem), {
      ok: false,
      problem: "the private key is not the key of the certificate",
    });
    assert.deepEqual(readPair("", first.keyPem), {
      ok: false,
      problem: "the certificate file holds no PEM CERTIFICATE block",
    });
    const noKey = readPair(first.certPem, "not a key");
    assert.ok(!noKey.ok && noKey.problem.startsWith("the private key does not parse: "));
  });
});

describe("ensureSelfSignedCertificate", () => {
  test("creates a localhost certificate and a mode-600 key when neither exists, and leaves them after", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wiw-self-signed-"));
    try {
      const certPath = join(dir, "certs", "tls.crt");
      const keyPath = join(dir, "certs", "tls.key");
      assert.equal(await ensureSelfSignedCertificate(certPath, keyPath), true);
      assert.equal((await stat(keyPath)).mode & 0o777, 0o600);
      const certPem = await readFile(certPath, "utf8");
      const certificate = new X509Certificate(certPem);
      assert.equal(
        certificate.subjectAltName,
        "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
      );
      assert.equal(certificate.ca, false);
      assert.ok(readPair(certPem, await readFile(keyPath, "utf8")).ok);

      assert.equal(await ensureSelfSignedCertificate(certPath, keyPath), false);
      assert.equal(await readFile(certPath, "utf8"), certPem);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("refuses to overwrite a certificate whose key is missing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wiw-self-signed-"));
    try {
      await writeFile(join(dir, "tls.crt"), "mine");
      await assert.rejects(ensureSelfSignedCertificate(join(dir, "tls.crt"), join(dir, "tls.key")), {
        message: `--generate-self-signed: ${join(dir, "tls.crt")} exists but ${join(dir, "tls.key")} does not; remove ${join(dir, "tls.crt")} to generate a new pair`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
