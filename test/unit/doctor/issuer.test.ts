import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { checkIssuer } from "../../../src/doctor/issuer.js";
import { ClusterExportError } from "../../../src/oidc/cluster.js";
import { buildIssuerDocuments, type IssuerDocuments } from "../../../src/oidc/documents.js";
import { parseServiceAccountKeys } from "../../../src/oidc/keys.js";
import { formatCheck } from "../../../src/oidc/verify.js";
import { kubernetesKids, readFixture } from "../oidc/fixtures.js";
import { emptyCluster, type FakeCluster, fakeDoctorApi } from "./fake-doctor-api.js";

const issuer = "https://oidc.example.com/clusters/prod";
const rsaKeys = parseServiceAccountKeys(readFixture("rsa-public-pkix.pem"), "rsa").keys;
const ecKeys = parseServiceAccountKeys(readFixture("ec-p256-public.pem"), "ec").keys;
const bothKeys = [...rsaKeys, ...ecKeys];
const now = new Date("2026-03-01T12:00:00Z");
const exportFix = `publish the cluster's current keys: web-identity-webhook oidc export --issuer ${issuer} --out DIR, then upload DIR (while rotating, keep the old keys published too)`;

/** What verifyIssuer prints for a good publication of both keys at `issuer`. */
const verifiedLines = [
  `ok   issuer URL ${issuer} is https without trailing slash, query or fragment`,
  `ok   discovery document served at ${issuer}/.well-known/openid-configuration`,
  `ok   discovery issuer equals ${issuer} byte for byte`,
  `ok   JWKS served at ${issuer}/openid/v1/jwks with 2 keys`,
  `ok   key ${kubernetesKids.rsa}: RS256, RSA 2048 bits`,
  `ok   key ${kubernetesKids.ecP256}: ES256, EC P-256`,
];

let both: IssuerDocuments;

/** A cluster whose API server serves `cluster` and whose issuer URL serves `published`. */
function clusterWith(cluster: IssuerDocuments, published: IssuerDocuments | undefined): FakeCluster {
  const fake = emptyCluster();
  fake.clusterDocuments = { discovery: cluster.discovery, jwks: cluster.jwks };
  if (published !== undefined) publish(fake, issuer, published);
  return fake;
}

function publish(fake: FakeCluster, at: string, documents: IssuerDocuments): void {
  fake.published.set(`${at}/.well-known/openid-configuration`, {
    status: 200,
    body: JSON.stringify(documents.discovery),
  });
  fake.published.set(documents.discovery.jwks_uri, { status: 200, body: JSON.stringify(documents.jwks) });
}

async function run(fake: FakeCluster, issuerUrl?: string): Promise<string[]> {
  return (await checkIssuer(fakeDoctorApi(fake), { issuerUrl, now })).map(formatCheck);
}

before(async () => {
  both = await buildIssuerDocuments(issuer, bothKeys);
});

describe("checkIssuer", () => {
  it("passes when the published issuer is the cluster's, byte for byte, with every cluster key", async () => {
    const fake = clusterWith(both, both);
    assert.deepEqual(await run(fake), [
      `ok   the cluster's tokens carry iss ${issuer}`,
      ...verifiedLines,
      `ok   the published JWKS holds the cluster's 2 signing keys (${kubernetesKids.rsa}, ${kubernetesKids.ecP256})`,
    ]);
    assert.deepEqual(fake.calls, [
      "fetchClusterDocuments",
      `getPublic ${issuer}/.well-known/openid-configuration`,
      `getPublic ${issuer}/openid/v1/jwks`,
    ]);
  });

  it("fails each cluster key the published JWKS lacks", async () => {
    const published = await buildIssuerDocuments(issuer, rsaKeys);
    const lines = await run(clusterWith(both, published));
    assert.deepEqual(
      lines.at(-1),
      `FAIL the cluster's signing key ${kubernetesKids.ecP256} is not in the published JWKS — fix: ${exportFix}`,
    );
    assert.equal(lines.filter((line) => line.startsWith("FAIL")).length, 1);
  });

  it("fails a published key whose kid is the cluster's but whose key material is not", async () => {
    const published = await buildIssuerDocuments(issuer, bothKeys);
    const rsa = published.jwks.keys[0];
    assert.ok(rsa?.n !== undefined);
    const tampered = {
      ...published,
      jwks: { keys: [{ ...rsa, n: `${rsa.n.slice(0, -4)}AAAA` }, ...published.jwks.keys.slice(1)] },
    };
    const lines = await run(clusterWith(both, tampered));
    assert.equal(
      lines.at(-1),
      `FAIL the published key ${kubernetesKids.rsa} is not the cluster's key of that kid — fix: ${exportFix}`,
    );
  });

  it("fails a published issuer that differs from the cluster's (verifyIssuer's byte-for-byte check)", async () => {
    const published = await buildIssuerDocuments(`${issuer}/`, bothKeys);
    const fake = clusterWith(both, undefined);
    fake.published.set(`${issuer}/.well-known/openid-configuration`, {
      status: 200,
      body: JSON.stringify({ ...published.discovery, jwks_uri: `${issuer}/openid/v1/jwks` }),
    });
    fake.published.set(`${issuer}/openid/v1/jwks`, { status: 200, body: JSON.stringify(published.jwks) });
    const lines = await run(fake);
    assert.equal(
      lines[3],
      `FAIL discovery issuer is "${issuer}/", not "${issuer}" — fix: make both the same, without a trailing slash: STS compares the issuer byte for byte; regenerate the documents with \`web-identity-webhook oidc generate\` (or \`oidc export\`) and upload them`,
    );
  });

  it("stops after verifyIssuer's failure when nothing is published", async () => {
    const lines = await run(clusterWith(both, undefined));
    assert.deepEqual(lines, [
      `ok   the cluster's tokens carry iss ${issuer}`,
      verifiedLines[0],
      `FAIL discovery document at ${issuer}/.well-known/openid-configuration unreachable: ECONNREFUSED — fix: nothing accepts connections at oidc.example.com; publish the documents there (e.g. S3 or CloudFront)`,
    ]);
  });

  it("fails the in-cluster default issuer without fetching anything public", async () => {
    const inCluster = await buildIssuerDocuments("https://kubernetes.default.svc", bothKeys);
    const fake = clusterWith(inCluster, undefined);
    assert.deepEqual(await run(fake), [
      "ok   the cluster's tokens carry iss https://kubernetes.default.svc",
      "FAIL issuer https://kubernetes.default.svc is the in-cluster default, which STS cannot reach — fix: publish the issuer as docs/self-hosted.md shows: a public https URL as kube-apiserver's first --service-account-issuer, and its documents uploaded there (`web-identity-webhook oidc export`)",
    ]);
    assert.deepEqual(fake.calls, ["fetchClusterDocuments"]);
  });

  it("checks an EKS issuer like any other", async () => {
    const eks = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    const documents = await buildIssuerDocuments(eks, rsaKeys);
    const fake = clusterWith(documents, undefined);
    publish(fake, eks, documents);
    const lines = await run(fake);
    assert.equal(
      lines.at(-1),
      `ok   the published JWKS holds the cluster's signing key (${kubernetesKids.rsa})`,
    );
    assert.ok(
      lines.every((line) => line.startsWith("ok")),
      lines.join("\n"),
    );
  });

  it("fails an --issuer-url that is not the cluster's issuer, then checks what is published there", async () => {
    const other = "https://oidc.example.com/clusters/staging";
    const documents = await buildIssuerDocuments(other, bothKeys);
    const fake = clusterWith(both, undefined);
    publish(fake, other, documents);
    const lines = await run(fake, other);
    assert.deepEqual(lines.slice(0, 3), [
      `ok   the cluster's tokens carry iss ${issuer}`,
      `FAIL --issuer-url ${other} is not the cluster's issuer ${issuer} — fix: STS fetches the documents from the tokens' iss: make ${other} kube-apiserver's first --service-account-issuer (docs/self-hosted.md, "Migrating an existing cluster"), or leave out --issuer-url`,
      `ok   issuer URL ${other} is https without trailing slash, query or fragment`,
    ]);
    assert.equal(
      lines.at(-1),
      `ok   the published JWKS holds the cluster's 2 signing keys (${kubernetesKids.rsa}, ${kubernetesKids.ecP256})`,
    );
  });

  it("fails when the cluster's documents cannot be read", async () => {
    const fake = emptyCluster();
    fake.clusterDocuments = new ClusterExportError("GET https://127.0.0.1:6443/openid/v1/jwks: HTTP 403");
    assert.deepEqual(await run(fake), [
      "FAIL cannot read the cluster's issuer documents: GET https://127.0.0.1:6443/openid/v1/jwks: HTTP 403 — fix: make `kubectl get --raw /.well-known/openid-configuration` and `kubectl get --raw /openid/v1/jwks` work with this kubeconfig",
    ]);
  });

  it("fails cluster documents without an issuer", async () => {
    const fake = emptyCluster();
    fake.clusterDocuments = { discovery: {}, jwks: both.jwks };
    assert.deepEqual(await run(fake), [
      "FAIL cannot read the cluster's issuer documents: the cluster's discovery document has no issuer — fix: make `kubectl get --raw /.well-known/openid-configuration` and `kubectl get --raw /openid/v1/jwks` work with this kubeconfig",
    ]);
  });
});
