// --generate-self-signed: a self-signed serving certificate for local runs, made only when none exists.

import { access, chmod, mkdir, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { dirname } from "node:path";

export const localHosts: readonly string[] = ["localhost", "127.0.0.1", "::1"];

const validityDays = 365;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a self-signed ECDSA P-256 certificate for `hosts` (DNS names and IP addresses) and its key (mode 600)
 * when neither file exists. Returns whether it created them; refuses to overwrite a lone certificate or key.
 */
export async function ensureSelfSignedCertificate(
  certPath: string,
  keyPath: string,
  hosts: readonly string[] = localHosts,
): Promise<boolean> {
  const [haveCert, haveKey] = await Promise.all([exists(certPath), exists(keyPath)]);
  if (haveCert && haveKey) return false;
  if (haveCert || haveKey) {
    const [present, missing] = haveCert ? [certPath, keyPath] : [keyPath, certPath];
    throw new Error(
      `--generate-self-signed: ${present} exists but ${missing} does not; remove ${present} to generate a new pair`,
    );
  }
  // Loaded here, not at the top: serve pays for selfsigned (and its crypto libraries) only when it makes a pair.
  const { generate } = await import("selfsigned");
  const notBefore = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: "commonName", value: hosts[0] ?? "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: notBefore,
    notAfterDate: new Date(notBefore.getTime() + validityDays * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: hosts.map((host) =>
          isIP(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host },
        ),
      },
    ],
  });
  await mkdir(dirname(certPath), { recursive: true });
  await mkdir(dirname(keyPath), { recursive: true });
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  // writeFile's mode is filtered by the umask; the key must end up 600 whatever it is.
  await chmod(keyPath, 0o600);
  await writeFile(certPath, pems.cert);
  return true;
}
