// Certificate files laid out like a Kubernetes Secret volume (tls.crt -> ..data/tls.crt, ..data -> ..<version>),
// updated the way the kubelet does: a new version directory, then an atomic swap of the ..data symlink.

import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureSelfSignedCertificate } from "../../../src/server/self-signed.js";

export interface Pair {
  readonly certPem: string;
  readonly keyPem: string;
  /** As a TLS client reports it (colon-separated upper-case hex). */
  readonly fingerprint256: string;
}

let pairs = 0;

/**
 * A fresh self-signed pair for localhost and 127.0.0.1, made with the server's own helper. Each has its own
 * subject CN: OpenSSL picks a trusted certificate by subject, so trusting several with one name would fail.
 */
export async function selfSignedPair(): Promise<Pair> {
  const dir = await mkdtemp(join(tmpdir(), "wiw-pair-"));
  pairs += 1;
  try {
    await ensureSelfSignedCertificate(join(dir, "tls.crt"), join(dir, "tls.key"), [
      `pair-${pairs}-${process.pid}.test`,
      "localhost",
      "127.0.0.1",
    ]);
    const certPem = await readFile(join(dir, "tls.crt"), "utf8");
    const keyPem = await readFile(join(dir, "tls.key"), "utf8");
    return { certPem, keyPem, fingerprint256: new X509Certificate(certPem).fingerprint256 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class SecretVolume {
  readonly dir: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** Every certificate written so far, for clients to trust. */
  readonly trusted: string[] = [];
  #version = 0;

  private constructor(dir: string) {
    this.dir = dir;
    this.certPath = join(dir, "tls.crt");
    this.keyPath = join(dir, "tls.key");
  }

  static async create(pair: Pair): Promise<SecretVolume> {
    const volume = new SecretVolume(await mkdtemp(join(tmpdir(), "wiw-secret-")));
    await volume.update(pair.certPem, pair.keyPem);
    await symlink("..data/tls.crt", volume.certPath);
    await symlink("..data/tls.key", volume.keyPath);
    return volume;
  }

  /** Publishes new file contents (any text, a valid pair or not) as the kubelet does. */
  async update(certPem: string, keyPem: string): Promise<void> {
    this.#version += 1;
    const version = `..v${this.#version}`;
    await mkdir(join(this.dir, version));
    await writeFile(join(this.dir, version, "tls.crt"), certPem);
    await writeFile(join(this.dir, version, "tls.key"), keyPem, { mode: 0o600 });
    await symlink(version, join(this.dir, "..data_tmp"));
    await rename(join(this.dir, "..data_tmp"), join(this.dir, "..data"));
    if (certPem.includes("BEGIN CERTIFICATE")) this.trusted.push(certPem);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
