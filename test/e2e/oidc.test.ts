// `oidc generate|export|verify` against the real API server: its tokens verify against the documents the CLI writes.
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { type IssuerServer, startIssuerServer } from "../unit/oidc/issuer-server.js";
import { startCluster, type TestCluster } from "./cluster/cluster.js";
import { type CliResult, runCli } from "./support/cli.js";

const discoveryFile = ".well-known/openid-configuration";
const jwksFile = "openid/v1/jwks";
const namespace = "oidc";
const serviceAccount = "app";
const audience = "sts.amazonaws.com";

interface Documents {
  /** The files' exact text. */
  discoveryText: string;
  jwksText: string;
  discovery: { issuer: string; jwks_uri: string };
  jwks: JSONWebKeySet;
}

async function readDocuments(dir: string): Promise<Documents> {
  const discoveryText = await readFile(join(dir, discoveryFile), "utf8");
  const jwksText = await readFile(join(dir, jwksFile), "utf8");
  return {
    discoveryText,
    jwksText,
    discovery: JSON.parse(discoveryText) as Documents["discovery"],
    jwks: JSON.parse(jwksText) as JSONWebKeySet,
  };
}

const kids = (jwks: JSONWebKeySet): (string | undefined)[] => jwks.keys.map((key) => key.kid);

let issuerServer: IssuerServer;
let cluster: TestCluster;
let issuer: string;
let token: string;
let tokenPath: string;
let caPath: string;
/** Written by `oidc generate` from the API server's key file. */
let generatedDir: string;
/** Written by `oidc export` from the API server's own documents. */
let exportedDir: string;
let generated: CliResult;
let exported: CliResult;

before(async () => {
  // The issuer server listens first; the API server's tokens carry its portless public URL as iss (IAM
  // refuses ports), which the CLI reaches through the server's proxy (HTTPS_PROXY).
  issuerServer = await startIssuerServer();
  issuer = issuerServer.issuer;
  cluster = await startCluster({ issuer });
  await cluster.createNamespace(namespace);
  await cluster.client.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: serviceAccount },
  });
  const tokenRequest = await cluster.client.request<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { audiences: [audience], expirationSeconds: 3600 },
    },
  );
  token = tokenRequest.status.token;
  const work = join(cluster.dir, "oidc");
  await mkdir(work);
  tokenPath = join(work, "token.jwt");
  caPath = join(work, "issuer-ca.crt");
  generatedDir = join(work, "generated");
  exportedDir = join(work, "exported");
  await writeFile(tokenPath, token);
  await writeFile(caPath, issuerServer.caPem);
  generated = await runCli([
    "oidc",
    "generate",
    "--issuer",
    issuer,
    "--public-key",
    cluster.saPublicKeyPath,
    "--out",
    generatedDir,
  ]);
  exported = await runCli([
    "oidc",
    "export",
    "--kubeconfig",
    cluster.kubeconfigPath,
    "--issuer",
    issuer,
    "--out",
    exportedDir,
  ]);
});
after(async () => {
  await cluster?.stop();
  await issuerServer?.close();
});

/** GET as the admin, accepting any type: the harness client asks for application/json, which the JWKS refuses (406). */
function adminGet(path: string): Promise<string> {
  const { server, caCertPem, clientCertPem, clientKeyPem } = cluster.credentials;
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server),
      { ca: caCertPem, cert: clientCertPem, key: clientKeyPem, agent: false, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode === 200) resolve(body);
          else reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${body}`));
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer within 10 s`)));
    req.on("error", reject);
    req.end();
  });
}

/** The API server's own documents, read as the admin. */
async function apiServerDocuments(): Promise<{ discoveryText: string; jwksText: string }> {
  return { discoveryText: await adminGet(`/${discoveryFile}`), jwksText: await adminGet(`/${jwksFile}`) };
}

/** Serves `dir`'s documents at the issuer URL, as an upload to S3 would. */
async function publish(dir: string): Promise<void> {
  const documents = await readDocuments(dir);
  issuerServer.routes.set(`/${discoveryFile}`, { status: 200, body: documents.discoveryText });
  issuerServer.routes.set(`/${jwksFile}`, { status: 200, body: documents.jwksText });
}

test("oidc generate and oidc export succeed, and export warns of nothing when the issuers agree", () => {
  assert.equal(generated.code, 0, generated.stderr);
  assert.equal(generated.stderr, "");
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(exported.stderr, "");
});

test("oidc export warns when the cluster's tokens carry another issuer than --issuer, and still writes", async () => {
  const other = "https://oidc.example.com/other";
  const out = join(cluster.dir, "oidc", "other-issuer");
  const result = await runCli([
    "oidc",
    "export",
    "--kubeconfig",
    cluster.kubeconfigPath,
    "--issuer",
    other,
    "--out",
    out,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stderr,
    `warning: the cluster's tokens carry iss "${issuer}", not "${other}"; STS rejects them until ` +
      `kube-apiserver's first --service-account-issuer is ${other} (docs/self-hosted.md, "Migrating an existing cluster")\n`,
  );
  assert.equal((await readDocuments(out)).discovery.issuer, other);
});

test("the generated key IDs are the API server's own", async () => {
  const own = JSON.parse((await apiServerDocuments()).jwksText) as JSONWebKeySet;
  const { jwks } = await readDocuments(generatedDir);
  assert.equal(own.keys.length, 1);
  assert.deepEqual(kids(jwks), kids(own));
  assert.deepEqual(kids((await readDocuments(exportedDir)).jwks), kids(own));
  assert.match(
    generated.stdout,
    new RegExp(
      `^key  ${own.keys[0]?.kid} RS256 from ${cluster.saPublicKeyPath} block 1 \\(PUBLIC KEY\\)$`,
      "m",
    ),
  );
  assert.match(exported.stdout, new RegExp(`^key  ${own.keys[0]?.kid} RS256$`, "m"));
});

test("oidc generate from the API server's private signing key writes the same documents as from its public key", async () => {
  const out = join(cluster.dir, "oidc", "from-signing-key");
  const result = await runCli([
    "oidc",
    "generate",
    "--issuer",
    issuer,
    "--public-key",
    cluster.saSigningKeyPath,
    "--out",
    out,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const fromPrivate = await readDocuments(out);
  const fromPublic = await readDocuments(generatedDir);
  assert.equal(fromPrivate.discoveryText, fromPublic.discoveryText);
  assert.equal(fromPrivate.jwksText, fromPublic.jwksText);
});

test("both outputs are the API server's documents byte for byte, with jwks_uri at the issuer instead of the API server", async () => {
  const own = await apiServerDocuments();
  const ownDiscovery = JSON.parse(own.discoveryText) as Documents["discovery"];
  // Without --service-account-jwks-uri the API server points at itself; the published copy must point at the issuer.
  assert.equal(ownDiscovery.jwks_uri, `${cluster.server}/openid/v1/jwks`);
  const expectedDiscovery = JSON.stringify({ ...ownDiscovery, jwks_uri: `${issuer}/openid/v1/jwks` });
  for (const dir of [generatedDir, exportedDir]) {
    const documents = await readDocuments(dir);
    assert.equal(documents.discoveryText, expectedDiscovery, dir);
    assert.equal(documents.jwksText, own.jwksText, dir);
  }
});

test("the discovery documents name the issuer byte for byte", async () => {
  const own = JSON.parse((await apiServerDocuments()).discoveryText) as Documents["discovery"];
  assert.equal(own.issuer, issuer);
  for (const dir of [generatedDir, exportedDir]) {
    const { discovery } = await readDocuments(dir);
    assert.equal(discovery.issuer, issuer, dir);
  }
});

test("a TokenRequest token verifies against the generated and the exported JWKS", async () => {
  const { kid } = decodeProtectedHeader(token);
  for (const dir of [generatedDir, exportedDir]) {
    const { jwks } = await readDocuments(dir);
    assert.ok(kids(jwks).includes(kid), `${dir} publishes the token's kid ${kid}`);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer,
      audience,
    });
    assert.equal(protectedHeader.alg, "RS256");
    assert.equal(payload.sub, `system:serviceaccount:${namespace}:${serviceAccount}`);
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 3600);
  }
});

for (const [what, dir] of [
  ["generated", () => generatedDir],
  ["exported", () => exportedDir],
] as const) {
  test(`oidc verify passes every check for the token against the ${what} documents, served over HTTPS`, async () => {
    await publish(dir());
    const { kid } = decodeProtectedHeader(token);
    const result = await runCli(
      ["oidc", "verify", "--issuer", issuer, "--token", tokenPath, "--ca-file", caPath],
      60_000,
      issuerServer.proxyEnv,
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stderr, "");
    const lines = result.stdout.trimEnd().split("\n");
    assert.deepEqual(lines.slice(0, 6), [
      `ok   issuer URL ${issuer} is https without trailing slash, query or fragment`,
      `ok   discovery document served at ${issuer}/.well-known/openid-configuration`,
      `ok   discovery issuer equals ${issuer} byte for byte`,
      `ok   JWKS served at ${issuer}/openid/v1/jwks with 1 key`,
      `ok   key ${kid}: RS256, RSA 2048 bits`,
      `ok   token signature verifies with key ${kid} (RS256)`,
    ]);
    assert.deepEqual(lines.slice(6, 8), [
      `ok   token iss equals ${issuer}`,
      `ok   token aud includes ${audience}`,
    ]);
    assert.match(lines[8] ?? "", /^ok {3}token expires at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z \(in \d+s\)$/);
    assert.deepEqual(lines.slice(9), [
      `ok   token subject: system:serviceaccount:${namespace}:${serviceAccount}`,
    ]);
  });
}

test("oidc verify exits 1 with the failed audience check when the role expects another audience", async () => {
  await publish(generatedDir);
  const result = await runCli(
    [
      "oidc",
      "verify",
      "--issuer",
      issuer,
      "--token",
      tokenPath,
      "--ca-file",
      caPath,
      "--audience",
      "other.example.com",
    ],
    60_000,
    issuerServer.proxyEnv,
  );
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const failed = result.stdout.split("\n").filter((line) => line.startsWith("FAIL"));
  assert.deepEqual(failed, [
    `FAIL token aud is ["${audience}"], without "other.example.com" — fix: issue the token for that audience ` +
      "(the webhook's --token-audience or the ServiceAccount's audience annotation; kubectl create token SA " +
      "--audience other.example.com), or pass the audience the role trusts with --audience",
  ]);
});
