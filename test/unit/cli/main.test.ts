// The built binary: --version, --help, unknown commands and start-up errors, as a user runs them.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

const binary = "dist/cli/main.js";

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [binary, ...args], { encoding: "utf8", timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("web-identity-webhook binary", () => {
  test("prints the package version", () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    assert.deepEqual(run("--version"), { code: 0, stdout: `web-identity-webhook ${version}\n`, stderr: "" });
  });

  test("lists every command in --help", () => {
    const { code, stdout } = run("--help");
    assert.equal(code, 0);
    for (const command of ["serve", "mutate", "oidc", "trust-policy", "doctor"])
      assert.match(stdout, new RegExp(`\\n  ${command} `));
  });

  test("documents every serve flag with its environment variable", () => {
    const { code, stdout } = run("serve", "--help");
    assert.equal(code, 0);
    assert.match(stdout, /--token-expiration VALUE\n.*\n.*env: WEB_IDENTITY_WEBHOOK_TOKEN_EXPIRATION/);
    assert.match(stdout, /--cert-mode VALUE/);
  });

  test("refuses an unknown command with exit 2", () => {
    const { code, stderr } = run("mutat");
    assert.equal(code, 2);
    assert.match(stderr, /^web-identity-webhook: unknown command "mutat"\n/);
  });

  test("refuses a bad serve flag with exit 2 and a message naming the value", () => {
    const { code, stderr } = run("serve", "--token-expiration", "1d");
    assert.equal(code, 2);
    assert.equal(
      stderr,
      'web-identity-webhook serve: --token-expiration: "1d" is not a whole number (600..86400)\n',
    );
  });

  test("exits 1 with a clear log line when the ServiceAccounts file is broken", () => {
    const { code, stdout } = run(
      "serve",
      "--service-accounts-file",
      "test/fixtures/serviceaccounts/invalid-yaml.yaml",
      "--generate-self-signed",
      // Never written: the broken file stops serve first. A path of this process's own, not a shared one.
      "--tls-cert",
      join(tmpdir(), `wiw-main-test-${process.pid}`, "tls.crt"),
      "--tls-key",
      join(tmpdir(), `wiw-main-test-${process.pid}`, "tls.key"),
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--listen-address",
      "127.0.0.1",
    );
    assert.equal(code, 1);
    const fatal = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { level: number; msg: string; error?: string })
      .find((line) => line.level === 60);
    assert.equal(fatal?.msg, "cannot start");
    assert.match(fatal?.error ?? "", /invalid-yaml\.yaml/);
  });
});
