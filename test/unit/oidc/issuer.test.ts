// The one issuer URL check every command uses: what IAM and STS refuse, each with its reason.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runDoctor } from "../../../src/cli/doctor.js";
import { runOidc } from "../../../src/cli/oidc.js";
import { runTrustPolicy } from "../../../src/cli/trust-policy.js";
import { issuerProblem } from "../../../src/oidc/issuer.js";
import { captureIo } from "./capture.js";

const portReason = "has a port: IAM refuses OIDC provider URLs with a port, even :443";
const userReason = "must not carry a user name or password (IAM refuses such provider URLs)";
const queryReason = "must not have a query or fragment (OIDC discovery forbids them, and IAM refuses them)";

const refused: readonly [string, string, string][] = [
  ["a port", "https://oidc.example.com:8443/prod", portReason],
  ["the default port written out", "https://oidc.example.com:443/prod", portReason],
  ["an empty port", "https://oidc.example.com:/prod", portReason],
  ["a port without a path", "https://oidc.example.com:8443", portReason],
  ["an IPv6 literal with a port", "https://[2001:db8::1]:8443/prod", portReason],
  ["a user name", "https://me@oidc.example.com/prod", userReason],
  ["a user name and password", "https://me:secret@oidc.example.com/prod", userReason],
  ["an empty user name", "https://@oidc.example.com/prod", userReason],
  ["a query", "https://oidc.example.com/prod?x=1", queryReason],
  ["a fragment", "https://oidc.example.com/prod#x", queryReason],
];

describe("issuerProblem", () => {
  for (const [what, issuer, reason] of refused) {
    it(`refuses an issuer with ${what}, saying why`, () => {
      const problem = issuerProblem(issuer) ?? "";
      assert.ok(problem.startsWith(`${JSON.stringify(issuer)} ${reason}`), problem);
    });
  }

  it("names the issuer to use instead of one with a port", () => {
    assert.equal(
      issuerProblem("https://oidc.example.com:8443/clusters/prod"),
      '"https://oidc.example.com:8443/clusters/prod" has a port: IAM refuses OIDC provider URLs with a port, even :443. Serve the issuer on the https default port and use "https://oidc.example.com/clusters/prod"',
    );
  });

  const accepted = [
    "https://oidc.example.com",
    "https://oidc.example.com/clusters/prod",
    "https://my-oidc.s3.eu-west-1.amazonaws.com/clusters/prod",
    "https://[2001:db8::1]/prod",
    "https://oidc.example.com/path:with-colon",
  ];
  for (const issuer of accepted) {
    it(`accepts ${issuer}`, () => assert.equal(issuerProblem(issuer), undefined));
  }
});

describe("every command refuses such an issuer with the reason", () => {
  const [, issuer = "", reason = ""] = refused[0] ?? [];
  const commands: readonly [string, (io: ReturnType<typeof captureIo>["io"]) => Promise<number>, string][] = [
    [
      "oidc generate",
      (io) =>
        runOidc(
          ["generate", "--issuer", issuer, "--public-key", "/nonexistent.pem", "--out", "/nonexistent"],
          io,
        ),
      `web-identity-webhook oidc generate: --issuer: ${JSON.stringify(issuer)} ${reason}`,
    ],
    [
      "oidc export",
      (io) =>
        runOidc(["export", "--kubeconfig", "/nonexistent", "--issuer", issuer, "--out", "/nonexistent"], io),
      `web-identity-webhook oidc export: --issuer: ${JSON.stringify(issuer)} ${reason}`,
    ],
    [
      "trust-policy",
      (io) =>
        runTrustPolicy(
          [
            "--issuer",
            issuer,
            "--account-id",
            "123456789012",
            "--namespace",
            "ns",
            "--service-account",
            "sa",
          ],
          io,
        ),
      `web-identity-webhook trust-policy: --issuer: ${JSON.stringify(issuer)} ${reason}`,
    ],
    [
      "doctor",
      (io) => runDoctor(["--issuer-url", issuer, "--kubeconfig", "/nonexistent"], io),
      `web-identity-webhook doctor: --issuer-url: ${JSON.stringify(issuer)} ${reason}`,
    ],
  ];
  for (const [command, run, message] of commands) {
    it(`${command} exits 2`, async () => {
      const captured = captureIo();
      assert.equal(await run(captured.io), 2);
      assert.ok(captured.stderr().startsWith(message), captured.stderr());
      assert.equal(captured.stdout(), "");
    });
  }
});
