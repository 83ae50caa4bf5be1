// Paths and known values of test/fixtures/oidc.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const fixtureDir = fileURLToPath(new URL("../../fixtures/oidc/", import.meta.url));

export function fixture(name: string): string {
  return `${fixtureDir}${name}`;
}

export function readFixture(name: string): string {
  return readFileSync(fixture(name), "utf8");
}

/** kids derived once with Go's x509.MarshalPKIXPublicKey + SHA-256 + RawURLEncoding (see the fixtures' README). */
export const kubernetesKids = JSON.parse(readFixture("kids.json")) as { rsa: string; ecP256: string };
