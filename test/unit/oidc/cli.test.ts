import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runOidc } from "../../../src/cli/oidc.js";
import { captureIo } from "./capture.js";

describe("oidc command dispatch", () => {
  it("prints the command list on stderr and exits 2 without a command", async () => {
    const captured = captureIo();
    assert.equal(await runOidc([], captured.io), 2);
    assert.match(captured.stderr(), /^Usage: web-identity-webhook oidc <command> \[flags\]\n/);
    assert.equal(captured.stdout(), "");
  });

  it("prints the command list on stdout for --help", async () => {
    const captured = captureIo();
    assert.equal(await runOidc(["--help"], captured.io), 0);
    assert.match(captured.stdout(), /generate {2}write the discovery document/);
  });

  for (const command of ["generate", "export", "verify"]) {
    it(`prints the flags of ${command} for ${command} --help`, async () => {
      const captured = captureIo();
      assert.equal(await runOidc([command, "--help"], captured.io), 0);
      assert.match(captured.stdout(), new RegExp(`^Usage: web-identity-webhook oidc ${command} `));
      assert.match(captured.stdout(), /\n {2}--issuer VALUE\n/);
    });
  }

  it("says in verify's help that STS needs a publicly trusted certificate", async () => {
    const captured = captureIo();
    await runOidc(["verify", "--help"], captured.io);
    assert.match(
      captured.stdout(),
      /STS needs a publicly trusted certificate \(others only through a thumbprint pinned\nin the IAM provider\): --ca-file is for local tests only/,
    );
  });

  const usageErrors: [string, string[], string][] = [
    [
      "an unknown command",
      ["publish"],
      'web-identity-webhook oidc: unknown command "publish" (generate, export, verify)\n',
    ],
    [
      "an unknown flag",
      ["generate", "--issuer-url", "x"],
      "web-identity-webhook oidc generate: unknown flag --issuer-url (see --help)\n",
    ],
    [
      "a stray argument",
      ["verify", "--issuer", "https://oidc.example.com", "extra"],
      'web-identity-webhook oidc verify: unexpected argument "extra" (see --help)\n',
    ],
    ["verify without --issuer", ["verify"], "web-identity-webhook oidc verify: --issuer is required\n"],
    [
      "verify with an --issuer that is no URL",
      ["verify", "--issuer", "oidc"],
      'web-identity-webhook oidc verify: --issuer: "oidc" is not a URL\n',
    ],
  ];
  for (const [name, argv, stderr] of usageErrors) {
    it(`exits 2 with one line on stderr for ${name}`, async () => {
      const captured = captureIo();
      assert.equal(await runOidc(argv, captured.io), 2);
      assert.equal(captured.stderr(), stderr);
    });
  }

  it("reads a flag from its environment twin", async () => {
    const captured = captureIo({ WEB_IDENTITY_WEBHOOK_ISSUER: "http://oidc.example.com" });
    assert.equal(await runOidc(["generate", "--public-key", "k.pem", "--out", "o"], captured.io), 2);
    assert.match(captured.stderr(), /--issuer: "http:\/\/oidc\.example\.com" must use https/);
  });
});
