import assert from "node:assert/strict";
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { exportJWK, type JWTPayload, SignJWT } from "jose";
import { runOidc } from "../../../src/cli/oidc.js";
import { buildIssuerDocuments, type IssuerDocuments } from "../../../src/oidc/documents.js";
import { issuerGetter } from "../../../src/oidc/http.js";
import { parseServiceAccountKeys } from "../../../src/oidc/keys.js";
import { type Check, formatCheck, type VerifyRequest, verifyIssuer } from "../../../src/oidc/verify.js";
import { captureIo } from "./capture.js";
import { fixture, kubernetesKids, readFixture } from "./fixtures.js";
import { closedPort, type IssuerServer, startIssuerServer } from "./issuer-server.js";

const now = new Date("2026-03-01T12:00:00Z");
const nowSeconds = now.getTime() / 1000;
const rsaSigner = createPrivateKey(readFixture("rsa-private-pkcs8.pem"));
const keys = [
  ...parseServiceAccountKeys(readFixture("rsa-public-pkix.pem"), "rsa").keys,
  ...parseServiceAccountKeys(readFixture("ec-p256-public.pem"), "ec").keys,
];

let server: IssuerServer;
let issuer: string;
let goodDocuments: IssuerDocuments;

function publish(discovery: unknown, jwks: unknown): void {
  server.routes.clear();
  server.routes.set("/.well-known/openid-configuration", { status: 200, body: JSON.stringify(discovery) });
  server.routes.set("/openid/v1/jwks", { status: 200, body: JSON.stringify(jwks) });
}

function token(claims: JWTPayload = {}, kid = kubernetesKids.rsa, signer = rsaSigner): Promise<string> {
  return new SignJWT({
    iss: issuer,
    aud: ["sts.amazonaws.com"],
    sub: "system:serviceaccount:payments:ledger",
    exp: nowSeconds + 3600,
    iat: nowSeconds - 60,
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256", kid })
    .sign(signer);
}

async function run(request: Partial<VerifyRequest> = {}, trustTestCa = true): Promise<string[]> {
  const checks: readonly Check[] = await verifyIssuer(
    { issuer, audience: "sts.amazonaws.com", ...request },
    {
      get: issuerGetter({
        ...(trustTestCa ? { ca: server.caPem } : {}),
        timeoutMs: 5000,
        env: server.proxyEnv,
      }),
      now: () => now,
    },
  );
  return checks.map(formatCheck);
}

function failures(lines: string[]): string[] {
  return lines.filter((line) => line.startsWith("FAIL"));
}

before(async () => {
  server = await startIssuerServer();
  issuer = server.issuer;
  goodDocuments = await buildIssuerDocuments(issuer, keys);
});

after(() => server.close());

beforeEach(() => publish(goodDocuments.discovery, goodDocuments.jwks));

describe("verifyIssuer against a local HTTPS issuer", () => {
  it("passes every check for a good setup and a fresh token, printing the subject", async () => {
    assert.deepEqual(await run({ token: await token() }), [
      `ok   issuer URL ${issuer} is https without trailing slash, query or fragment`,
      `ok   discovery document served at ${issuer}/.well-known/openid-configuration`,
      `ok   discovery issuer equals ${issuer} byte for byte`,
      `ok   JWKS served at ${issuer}/openid/v1/jwks with 2 keys`,
      `ok   key ${kubernetesKids.rsa}: RS256, RSA 2048 bits`,
      `ok   key ${kubernetesKids.ecP256}: ES256, EC P-256`,
      `ok   token signature verifies with key ${kubernetesKids.rsa} (RS256)`,
      `ok   token iss equals ${issuer}`,
      "ok   token aud includes sts.amazonaws.com",
      "ok   token expires at 2026-03-01T13:00:00.000Z (in 3600s)",
      "ok   token subject: system:serviceaccount:payments:ledger",
    ]);
  });

  it("fails when the published issuer has a trailing slash, and says to drop it", async () => {
    publish({ ...goodDocuments.discovery, issuer: `${issuer}/` }, goodDocuments.jwks);
    assert.deepEqual(failures(await run()), [
      `FAIL discovery issuer is "${issuer}/", not "${issuer}" — fix: make both the same, without a trailing slash: STS compares the issuer byte for byte; regenerate the documents with \`web-identity-webhook oidc generate\` (or \`oidc export\`) and upload them`,
    ]);
  });

  it("fails when --issuer has a port, which IAM refuses, and still checks the documents under it", async () => {
    const lines = await run({ issuer: server.origin });
    assert.equal(
      lines[0],
      `FAIL issuer URL "${server.origin}" has a port: IAM refuses OIDC provider URLs with a port, even :443. Serve the issuer on the https default port and use "https://127.0.0.1" — fix: use one exact https URL everywhere: kube-apiserver's first --service-account-issuer, \`oidc generate --issuer\` and the IAM OIDC provider`,
    );
    assert.equal(
      lines[1],
      `ok   discovery document served at ${server.origin}/.well-known/openid-configuration`,
    );
  });

  it("fails when --issuer has a trailing slash, and still checks the documents under it", async () => {
    const lines = await run({ issuer: `${issuer}/` });
    assert.match(
      lines[0] ?? "",
      /^FAIL issuer URL "https:\/\/issuer\.example\.test\/" ends with "\/": STS compares/,
    );
    assert.equal(lines[1], `ok   discovery document served at ${issuer}/.well-known/openid-configuration`);
    assert.equal(
      lines[2],
      `FAIL discovery issuer is "${issuer}", not "${issuer}/" — fix: make both the same, without a trailing slash: STS compares the issuer byte for byte; regenerate the documents with \`web-identity-webhook oidc generate\` (or \`oidc export\`) and upload them`,
    );
  });

  it("fails when the published issuer is another URL, and when the token carries another iss", async () => {
    publish(
      { ...goodDocuments.discovery, issuer: "https://kubernetes.default.svc.cluster.local" },
      goodDocuments.jwks,
    );
    const lines = await run({ token: await token({ iss: "https://kubernetes.default.svc.cluster.local" }) });
    assert.deepEqual(failures(lines), [
      `FAIL discovery issuer is "https://kubernetes.default.svc.cluster.local", not "${issuer}" — fix: regenerate the documents with --issuer ${issuer} (\`oidc generate\` or \`oidc export\`) and upload them; it must also be kube-apiserver's first --service-account-issuer`,
      `FAIL token iss is "https://kubernetes.default.svc.cluster.local", not "${issuer}" — fix: make ${issuer} kube-apiserver's first --service-account-issuer (keep the old issuer as a further --service-account-issuer while old tokens live) and use a new token`,
    ]);
  });

  it("fails when the token's key is not in the JWKS", async () => {
    publish(goodDocuments.discovery, {
      keys: goodDocuments.jwks.keys.filter((k) => k.kid !== kubernetesKids.rsa),
    });
    assert.deepEqual(failures(await run({ token: await token() })), [
      `FAIL token was signed with key ${kubernetesKids.rsa}, which the JWKS does not publish — fix: regenerate the documents with \`web-identity-webhook oidc generate\` (or \`oidc export\`) and upload them from every file in kube-apiserver's --service-account-key-file; while rotating, publish the old and the new key`,
    ]);
  });

  it("fails when the JWKS publishes the token's kid with other key material", async () => {
    const other = await exportJWK(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey);
    const forged = { use: "sig", kty: "RSA", kid: kubernetesKids.rsa, alg: "RS256", n: other.n, e: other.e };
    publish(goodDocuments.discovery, { keys: [forged] });
    const [failure, ...more] = failures(await run({ token: await token() }));
    assert.deepEqual(more, []);
    assert.match(
      failure ?? "",
      new RegExp(
        `^FAIL token signature does not verify with key ${kubernetesKids.rsa} \\(.+\\) — fix: the published key`,
      ),
    );
  });

  it("fails for a token with the wrong audience", async () => {
    assert.deepEqual(
      failures(await run({ token: await token({ aud: ["https://kubernetes.default.svc"] }) })),
      [
        'FAIL token aud is ["https://kubernetes.default.svc"], without "sts.amazonaws.com" — fix: issue the token for that audience (the webhook\'s --token-audience or the ServiceAccount\'s audience annotation; kubectl create token SA --audience sts.amazonaws.com), or pass the audience the role trusts with --audience',
      ],
    );
  });

  it("accepts a token for another audience when --audience names it", async () => {
    const lines = await run({ audience: "my-audience", token: await token({ aud: "my-audience" }) });
    assert.deepEqual(failures(lines), []);
    assert.ok(lines.includes("ok   token aud includes my-audience"));
  });

  it("fails for an expired token", async () => {
    assert.deepEqual(failures(await run({ token: await token({ exp: nowSeconds - 60 }) })), [
      "FAIL token expired at 2026-03-01T11:59:00.000Z (60s ago) — fix: use a fresh token; the kubelet refreshes projected tokens at 80% of their lifetime",
    ]);
  });

  it("fails when the JWKS answers 404", async () => {
    server.routes.delete("/openid/v1/jwks");
    assert.deepEqual(failures(await run({ token: await token() })), [
      `FAIL JWKS at ${issuer}/openid/v1/jwks: HTTP 404 — fix: upload DIR/openid/v1/jwks (written by \`oidc generate\`) so that it is served at exactly this URL with status 200, readable without credentials`,
    ]);
  });

  it("fails when nothing listens at jwks_uri", async () => {
    const jwksUri = `https://127.0.0.1:${await closedPort()}/openid/v1/jwks`;
    publish({ ...goodDocuments.discovery, jwks_uri: jwksUri }, goodDocuments.jwks);
    assert.deepEqual(failures(await run()), [
      `FAIL JWKS at ${jwksUri} unreachable: ECONNREFUSED — fix: nothing accepts connections at ${new URL(jwksUri).host}; publish the documents there (e.g. S3 or CloudFront)`,
    ]);
  });

  it("fails when jwks_uri is not https", async () => {
    publish(
      { ...goodDocuments.discovery, jwks_uri: "http://oidc.example.com/openid/v1/jwks" },
      goodDocuments.jwks,
    );
    assert.deepEqual(failures(await run()), [
      "FAIL jwks_uri http://oidc.example.com/openid/v1/jwks is not https — fix: serve the JWKS over https and regenerate the documents with `web-identity-webhook oidc generate` (or `oidc export`) and upload them",
    ]);
  });

  it("fails when the discovery document answers 404, and stops there", async () => {
    server.routes.clear();
    const lines = await run();
    assert.deepEqual(lines.slice(1), [
      `FAIL discovery document at ${issuer}/.well-known/openid-configuration: HTTP 404 — fix: upload DIR/.well-known/openid-configuration (written by \`oidc generate\`) so that it is served at exactly this URL with status 200, readable without credentials`,
    ]);
  });

  it("fails when the certificate is not trusted, pointing at public certificates and --ca-file", async () => {
    const lines = await run({}, false);
    assert.match(
      lines[1] ?? "",
      /^FAIL discovery document at .+ unreachable: [A-Z_]+ — fix: serve it with a valid, publicly trusted certificate .+ For a local test CA pass --ca-file$/,
    );
  });

  it("fails for a key STS cannot use: too short, or without kid", async () => {
    const short = await exportJWK(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey);
    const ec = goodDocuments.jwks.keys[1];
    publish(goodDocuments.discovery, {
      keys: [
        { use: "sig", kty: "RSA", kid: "short", alg: "RS256", n: short.n, e: short.e },
        { ...ec, kid: undefined },
      ],
    });
    assert.deepEqual(failures(await run()), [
      'FAIL key short: RSA key of 1024 bits is too short — fix: STS needs RSA keys of at least 2048 bits; rotate to a new key (docs/self-hosted.md, "Rotating the signing key")',
      "FAIL JWKS key #2 has no kid — fix: STS picks the key by the token's kid; regenerate the documents with `web-identity-webhook oidc generate` (or `oidc export`) and upload them",
    ]);
  });
});

describe("oidc verify command", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "oidc-verify-"));
    await writeFile(join(dir, "ca.crt"), server.caPem);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function verifyCommand(tokenText: string) {
    await writeFile(join(dir, "token"), `${tokenText}\n`);
    const captured = captureIo(server.proxyEnv);
    const code = await runOidc(
      ["verify", "--issuer", issuer, "--token", join(dir, "token"), "--ca-file", join(dir, "ca.crt")],
      captured.io,
    );
    return { code, lines: captured.stdout().trimEnd().split("\n"), stderr: captured.stderr() };
  }

  it("exits 0 and prints one ok line per check for a good setup", async () => {
    const realNow = Math.floor(Date.now() / 1000);
    const { code, lines, stderr } = await verifyCommand(await token({ exp: realNow + 3600, iat: realNow }));
    assert.equal(code, 0);
    assert.equal(stderr, "");
    assert.equal(lines.length, 11);
    assert.ok(
      lines.every((line) => line.startsWith("ok   ")),
      lines.join("\n"),
    );
  });

  it("exits 1 when a check fails", async () => {
    const { code, lines } = await verifyCommand(await token({ exp: nowSeconds }));
    assert.equal(code, 1);
    assert.equal(failures(lines).length, 1);
  });

  it("exits 2 for a token file that cannot be read", async () => {
    const captured = captureIo();
    assert.equal(
      await runOidc(["verify", "--issuer", issuer, "--token", fixture("missing-token")], captured.io),
      2,
    );
    assert.equal(
      captured.stderr(),
      `web-identity-webhook oidc verify: --token: cannot read ${fixture("missing-token")} (ENOENT)\n`,
    );
  });
});
