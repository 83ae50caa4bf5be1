import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { runOidc } from "../../../src/cli/oidc.js";
import { ClusterExportError, rebaseClusterDocuments } from "../../../src/oidc/cluster.js";
import { captureIo } from "./capture.js";
import { readFixture } from "./fixtures.js";
import { type IssuerServer, startIssuerServer } from "./issuer-server.js";

const publicIssuer = "https://oidc.example.com/clusters/prod";
const golden = {
  discovery: readFixture("expected/rotation/.well-known/openid-configuration"),
  jwks: readFixture("expected/rotation/openid/v1/jwks"),
};
/** What a kubeadm cluster serves before it is migrated: the in-cluster issuer, jwks_uri at the API server. */
const clusterDiscovery = {
  ...JSON.parse(golden.discovery),
  issuer: "https://kubernetes.default.svc.cluster.local",
  jwks_uri: "https://10.0.0.1:6443/openid/v1/jwks",
};

describe("rebaseClusterDocuments", () => {
  it("keeps the cluster's keys and points issuer and jwks_uri at the public issuer", () => {
    const { documents, clusterIssuer } = rebaseClusterDocuments(publicIssuer, {
      discovery: clusterDiscovery,
      jwks: JSON.parse(golden.jwks),
    });
    assert.equal(clusterIssuer, "https://kubernetes.default.svc.cluster.local");
    assert.equal(JSON.stringify(documents.discovery), golden.discovery);
    assert.equal(JSON.stringify(documents.jwks), golden.jwks);
  });

  const broken: [string, unknown, unknown, string][] = [
    [
      "a discovery document without issuer",
      {},
      JSON.parse(golden.jwks),
      "the cluster's discovery document has no issuer",
    ],
    [
      "a JWKS without keys",
      clusterDiscovery,
      { keys: [] },
      "the cluster's JWKS has no keys, or a key without kty, kid and alg",
    ],
    [
      "a key without kid",
      clusterDiscovery,
      { keys: [{ kty: "RSA", alg: "RS256" }] },
      "the cluster's JWKS has no keys, or a key without kty, kid and alg",
    ],
  ];
  for (const [name, discovery, jwks, message] of broken) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => rebaseClusterDocuments(publicIssuer, { discovery, jwks }),
        (error: unknown) => error instanceof ClusterExportError && error.message === message,
      );
    });
  }
});

describe("oidc export through a (fake) API server", () => {
  let apiServer: IssuerServer;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    apiServer = await startIssuerServer();
    dir = await mkdtemp(join(tmpdir(), "oidc-export-"));
    kubeconfig = join(dir, "kubeconfig");
    await writeFile(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: test",
        "  cluster:",
        `    server: ${apiServer.origin}`,
        `    certificate-authority-data: ${Buffer.from(apiServer.caPem).toString("base64")}`,
        "users:",
        "- name: admin",
        "  user:",
        "    token: test-token",
        "contexts:",
        "- name: test",
        "  context: {cluster: test, user: admin}",
        "current-context: test",
        "",
      ].join("\n"),
    );
  });
  after(async () => {
    await apiServer.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    apiServer.routes.clear();
    apiServer.authorizations.length = 0;
  });

  function serveCluster(discovery: unknown): void {
    apiServer.routes.set("/.well-known/openid-configuration", {
      status: 200,
      body: JSON.stringify(discovery),
    });
    apiServer.routes.set("/openid/v1/jwks", { status: 200, body: golden.jwks });
  }

  it("writes the cluster's documents for the public issuer, reading them with the kubeconfig's credentials", async () => {
    serveCluster({ ...clusterDiscovery, issuer: publicIssuer });
    const out = join(dir, "same-issuer");
    const captured = captureIo();
    assert.equal(
      await runOidc(
        ["export", "--kubeconfig", kubeconfig, "--issuer", publicIssuer, "--out", out],
        captured.io,
      ),
      0,
    );
    assert.equal(await readFile(join(out, ".well-known/openid-configuration"), "utf8"), golden.discovery);
    assert.equal(await readFile(join(out, "openid/v1/jwks"), "utf8"), golden.jwks);
    assert.deepEqual(apiServer.authorizations, ["Bearer test-token", "Bearer test-token"]);
    assert.equal(captured.stderr(), "");
  });

  it("warns when the cluster's tokens carry another iss than the public issuer", async () => {
    serveCluster(clusterDiscovery);
    const captured = captureIo();
    assert.equal(
      await runOidc(
        ["export", "--kubeconfig", kubeconfig, "--issuer", publicIssuer, "--out", join(dir, "other-issuer")],
        captured.io,
      ),
      0,
    );
    assert.equal(
      captured.stderr(),
      `warning: the cluster's tokens carry iss "https://kubernetes.default.svc.cluster.local", not "${publicIssuer}"; ` +
        `STS rejects them until kube-apiserver's first --service-account-issuer is ${publicIssuer} ` +
        `(docs/self-hosted.md, "Migrating an existing cluster")\n`,
    );
  });

  it("exits 1 with the reason when the API server refuses", async () => {
    apiServer.routes.set("/.well-known/openid-configuration", { status: 403, body: "{}" });
    const captured = captureIo();
    assert.equal(
      await runOidc(
        ["export", "--kubeconfig", kubeconfig, "--issuer", publicIssuer, "--out", join(dir, "refused")],
        captured.io,
      ),
      1,
    );
    assert.equal(
      captured.stderr(),
      `web-identity-webhook oidc export: GET ${apiServer.origin}/.well-known/openid-configuration: HTTP 403 (the kubeconfig's user may not read the issuer documents; use an admin kubeconfig or a user bound to the system:service-account-issuer-discovery ClusterRole)\n`,
    );
  });

  it("exits 2 for a kubeconfig that cannot be loaded", async () => {
    const captured = captureIo();
    const missing = join(dir, "missing-kubeconfig");
    assert.equal(
      await runOidc(
        ["export", "--kubeconfig", missing, "--issuer", publicIssuer, "--out", join(dir, "x")],
        captured.io,
      ),
      2,
    );
    assert.match(
      captured.stderr(),
      /^web-identity-webhook oidc export: --kubeconfig: cannot load .*missing-kubeconfig/,
    );
  });
});
