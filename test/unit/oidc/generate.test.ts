import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runOidc } from "../../../src/cli/oidc.js";
import { buildIssuerDocuments, publishedFiles } from "../../../src/oidc/documents.js";
import { parseServiceAccountKeys } from "../../../src/oidc/keys.js";
import { captureIo } from "./capture.js";
import { fixture, kubernetesKids, readFixture } from "./fixtures.js";

const issuer = "https://oidc.example.com/clusters/prod";
/** Golden files written by go-jose v4 the way kube-apiserver writes them (see the fixtures' README). */
const golden = {
  discovery: readFixture("expected/rotation/.well-known/openid-configuration"),
  jwks: readFixture("expected/rotation/openid/v1/jwks"),
};

function keysOf(...files: string[]) {
  return files.flatMap((file) => parseServiceAccountKeys(readFixture(file), file).keys);
}

describe("buildIssuerDocuments", () => {
  it("renders the discovery document and JWKS byte for byte as kube-apiserver serves them", async () => {
    const documents = await buildIssuerDocuments(
      issuer,
      keysOf("rsa-private-pkcs1.pem", "ec-p256-public.pem"),
    );
    assert.deepEqual(publishedFiles(documents), [
      { path: ".well-known/openid-configuration", body: golden.discovery },
      { path: "openid/v1/jwks", body: golden.jwks },
    ]);
  });

  it("points jwks_uri at the issuer and lists each algorithm once, sorted", async () => {
    const documents = await buildIssuerDocuments(issuer, keysOf("ec-p256-public.pem", "rsa-public-pkix.pem"));
    assert.deepEqual(documents.discovery, {
      issuer,
      jwks_uri: `${issuer}/openid/v1/jwks`,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256", "RS256"],
    });
  });

  it("lists a key given twice (private and public file) once", async () => {
    const documents = await buildIssuerDocuments(
      issuer,
      keysOf("rsa-private-pkcs8.pem", "rsa-public-pkix.pem"),
    );
    assert.deepEqual(
      documents.jwks.keys.map((k) => [k.kid, k.alg, k.use]),
      [[kubernetesKids.rsa, "RS256", "sig"]],
    );
  });
});

describe("oidc generate", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "oidc-generate-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes the two files ready to upload and lists the keys", async () => {
    const out = join(dir, "rotation");
    const captured = captureIo();
    const code = await runOidc(
      [
        "generate",
        "--issuer",
        issuer,
        "--public-key",
        fixture("rsa-private-pkcs1.pem"),
        "--public-key",
        fixture("ec-p256-public.pem"),
        "--out",
        out,
      ],
      captured.io,
    );
    assert.equal(code, 0);
    assert.equal(await readFile(join(out, ".well-known/openid-configuration"), "utf8"), golden.discovery);
    assert.equal(await readFile(join(out, "openid/v1/jwks"), "utf8"), golden.jwks);
    assert.equal(
      captured.stdout(),
      [
        `wrote ${out}/.well-known/openid-configuration`,
        `wrote ${out}/openid/v1/jwks`,
        `key  ${kubernetesKids.rsa} RS256 from ${fixture("rsa-private-pkcs1.pem")} block 1 (RSA PRIVATE KEY)`,
        `key  ${kubernetesKids.ecP256} ES256 from ${fixture("ec-p256-public.pem")} block 1 (PUBLIC KEY)`,
        `next: upload ${out} so it is served at ${issuer}, then run: web-identity-webhook oidc verify --issuer ${issuer}`,
        "",
      ].join("\n"),
    );
    assert.equal(captured.stderr(), "");
  });

  it("reads several keys from one PEM file, as --service-account-key-file allows", async () => {
    const out = join(dir, "one-file");
    const code = await runOidc(
      ["generate", "--issuer", issuer, "--public-key", fixture("rotation-public-keys.pem"), "--out", out],
      captureIo().io,
    );
    assert.equal(code, 0);
    assert.equal(await readFile(join(out, "openid/v1/jwks"), "utf8"), golden.jwks);
  });

  it("warns on stderr about a key STS would refuse, and still writes the documents", async () => {
    const captured = captureIo();
    const weak = join(dir, "weak.pem");
    await writeFile(
      weak,
      generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }),
    );
    const code = await runOidc(
      ["generate", "--issuer", issuer, "--public-key", weak, "--out", join(dir, "weak")],
      captured.io,
    );
    assert.equal(code, 0);
    assert.equal(
      captured.stderr(),
      `warning: ${weak} block 1 (PUBLIC KEY): RSA key of 1024 bits; STS needs at least 2048\n`,
    );
  });

  const badInputs = [
    {
      name: "an issuer with a trailing slash, explaining why",
      argv: ["--issuer", `${issuer}/`, "--public-key", fixture("rsa-public-pkix.pem"), "--out", "unused"],
      stderr: `web-identity-webhook oidc generate: --issuer: "${issuer}/" ends with "/": STS compares the token's iss, the discovery document's issuer and the IAM provider URL byte for byte, and tools strip the slash in some places but not others — use "${issuer}"\n`,
    },
    {
      name: "an http issuer",
      argv: [
        "--issuer",
        "http://oidc.example.com",
        "--public-key",
        fixture("rsa-public-pkix.pem"),
        "--out",
        "unused",
      ],
      stderr:
        'web-identity-webhook oidc generate: --issuer: "http://oidc.example.com" must use https: STS fetches the discovery document only over HTTPS\n',
    },
    {
      name: "a missing --public-key",
      argv: ["--issuer", issuer, "--out", "unused"],
      stderr:
        "web-identity-webhook oidc generate: --public-key is required (a PEM file; repeat it for several)\n",
    },
    {
      name: "a key file that does not exist",
      argv: ["--issuer", issuer, "--public-key", "/nonexistent/sa.pub", "--out", "unused"],
      stderr: "web-identity-webhook oidc generate: --public-key: cannot read /nonexistent/sa.pub (ENOENT)\n",
    },
    {
      name: "a file that holds no key",
      argv: ["--issuer", issuer, "--public-key", fixture("garbage.pem"), "--out", "unused"],
      stderr: new RegExp(
        `^web-identity-webhook oidc generate: ${fixture("garbage.pem").replaceAll(".", "\\.")} block 1 \\(CERTIFICATE REQUEST\\): not a readable key [^\\n]*\\n$`,
      ),
    },
  ];
  for (const { name, argv, stderr } of badInputs) {
    it(`exits 2 with one line on stderr for ${name}`, async () => {
      const captured = captureIo();
      assert.equal(await runOidc(["generate", ...argv], captured.io), 2);
      if (typeof stderr === "string") assert.equal(captured.stderr(), stderr);
      else assert.match(captured.stderr(), stderr);
      assert.equal(captured.stdout(), "");
    });
  }
});
