import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { runDoctor } from "../../../src/cli/doctor.js";
import { buildIssuerDocuments, type IssuerDocuments } from "../../../src/oidc/documents.js";
import { parseServiceAccountKeys } from "../../../src/oidc/keys.js";
import { captureIo } from "../oidc/capture.js";
import { kubernetesKids, readFixture } from "../oidc/fixtures.js";
import { type IssuerProxy, publicIssuer, startIssuerProxy } from "../oidc/issuer-server.js";
import { caBundleOf, createCa, issueServing, type TestCa } from "./certificates.js";
import { serverName, webhookName } from "./cluster-objects.js";
import { type StubAnswer, type StubApiServer, startStubApiServer } from "./stub-apiserver.js";
import { startWebhookServer, type WebhookServer } from "./webhook-server.js";

const keys = [
  ...parseServiceAccountKeys(readFixture("rsa-public-pkix.pem"), "rsa").keys,
  ...parseServiceAccountKeys(readFixture("ec-p256-public.pem"), "ec").keys,
];
const role = "arn:aws:iam::111122223333:role/ledger";
const label = `webhook ${webhookName}`;
const mwcPath = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/web-identity-webhook";

let apiCa: TestCa;
let webhookCa: TestCa;
let webhookServing: TestCa;
let apiServer: StubApiServer;
let proxy: IssuerProxy | undefined;
let webhook: WebhookServer;
let documents: IssuerDocuments;
let dir: string;
let kubeconfig: string;
let caFile: string;
/** Answers a test changes before running doctor; the rest come from a healthy cluster. */
let overrides: Map<string, StubAnswer>;

function webhookConfiguration(caPem: string): unknown {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: "web-identity-webhook" },
    webhooks: [
      {
        name: webhookName,
        admissionReviewVersions: ["v1", "v1beta1"],
        sideEffects: "None",
        clientConfig: {
          service: { namespace: "irsa", name: "web-identity-webhook", path: "/mutate", port: 443 },
          caBundle: caBundleOf(caPem),
        },
        rules: [
          {
            operations: ["CREATE"],
            apiGroups: [""],
            apiVersions: ["v1"],
            resources: ["pods"],
            scope: "Namespaced",
          },
        ],
      },
    ],
  };
}

function serviceAccount(namespace: string, name: string, annotations?: Record<string, string>): unknown {
  return { metadata: { namespace, name, ...(annotations !== undefined ? { annotations } : {}) } };
}

/** A healthy cluster: the chart's objects, one webhook endpoint, two pages of ServiceAccounts, its issuer at its own URL. */
function healthyCluster(url: URL): StubAnswer | undefined {
  switch (url.pathname) {
    case mwcPath:
      return { status: 200, body: webhookConfiguration(webhookCa.cert) };
    case "/api/v1/namespaces/irsa/services/web-identity-webhook":
      return {
        status: 200,
        body: {
          metadata: { name: "web-identity-webhook" },
          spec: { ports: [{ name: "https", port: 443, targetPort: "https" }] },
        },
      };
    case "/apis/discovery.k8s.io/v1/namespaces/irsa/endpointslices":
      if (url.searchParams.get("labelSelector") !== "kubernetes.io/service-name=web-identity-webhook")
        return undefined;
      return {
        status: 200,
        body: {
          metadata: {},
          items: [
            {
              metadata: { name: "web-identity-webhook-abcde" },
              addressType: "IPv4",
              ports: [{ name: "https", port: webhook.port, protocol: "TCP" }],
              endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }],
            },
          ],
        },
      };
    case "/api/v1/serviceaccounts":
      return url.searchParams.get("continue") === "page-2"
        ? { status: 200, body: { metadata: {}, items: [serviceAccount("web", "default")] } }
        : {
            status: 200,
            body: {
              metadata: { continue: "page-2" },
              items: [serviceAccount("payments", "ledger", { "eks.amazonaws.com/role-arn": role })],
            },
          };
    case "/api/v1/namespaces/irsa/services/https:web-identity-webhook:443/proxy/healthz":
      return { status: 200, body: "ok" };
    case "/.well-known/openid-configuration":
      return { status: 200, body: documents.discovery };
    case "/openid/v1/jwks":
      return { status: 200, body: documents.jwks };
    default:
      return undefined;
  }
}

async function doctor(...argv: string[]) {
  const captured = captureIo(proxy?.env);
  const code = await runDoctor(argv, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

before(async () => {
  apiCa = await createCa("stub kube-apiserver CA");
  webhookCa = await createCa("web-identity-webhook CA");
  webhookServing = await issueServing(webhookCa, { dns: [serverName] });
  apiServer = await startStubApiServer(
    await issueServing(apiCa, { ips: ["127.0.0.1"], dns: [new URL(publicIssuer).hostname] }),
  );
  // The cluster's issuer is a portless public URL (IAM refuses ports) that the proxy maps to the API
  // server, which the test trusts through --ca-file.
  proxy = await startIssuerProxy(Number(new URL(apiServer.origin).port));
  webhook = await startWebhookServer(webhookServing);
  documents = await buildIssuerDocuments(publicIssuer, keys);
  apiServer.handler = (url) => overrides.get(url.pathname) ?? healthyCluster(url);
  dir = await mkdtemp(join(tmpdir(), "doctor-cli-"));
  kubeconfig = join(dir, "kubeconfig");
  caFile = join(dir, "ca.crt");
  await writeFile(caFile, apiCa.cert);
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "stub",
          cluster: { server: apiServer.origin, "certificate-authority-data": caBundleOf(apiCa.cert) },
        },
      ],
      users: [{ name: "admin", user: { token: "doctor-token" } }],
      contexts: [{ name: "stub", context: { cluster: "stub", user: "admin" } }],
      "current-context": "stub",
    }),
  );
});

beforeEach(() => {
  overrides = new Map();
  apiServer.requests.length = 0;
});

after(async () => {
  await proxy?.close();
  await apiServer.close();
  await webhook.close();
  await rm(dir, { recursive: true, force: true });
});

describe("web-identity-webhook doctor against a stub API server and a real HTTPS webhook", () => {
  it("prints ok for every check of a healthy cluster and exits 0", async () => {
    const { code, stdout, stderr } = await doctor("--kubeconfig", kubeconfig, "--ca-file", caFile);
    const issuer = publicIssuer;
    const validTo = new Date(new X509Certificate(webhookServing.cert).validTo).toISOString();
    assert.equal(stderr, "");
    assert.deepEqual(stdout.trimEnd().split("\n"), [
      "ok   MutatingWebhookConfiguration web-identity-webhook exists",
      `ok   ${label} has a rule for pods CREATE`,
      `ok   ${label} declares sideEffects None`,
      `ok   ${label} caBundle holds 1 certificate`,
      `ok   ${label}: 127.0.0.1:${webhook.port} serves a certificate for ${serverName} that the caBundle trusts (valid until ${validTo})`,
      `ok   ${label} allows a test pod: POST /mutate at 127.0.0.1:${webhook.port} answered an AdmissionReview`,
      `ok   ${label}: GET /healthz through the API server's service proxy answers 200`,
      "ok   ServiceAccounts: 2 read, 1 with eks.amazonaws.com/role-arn, every role an IAM role ARN, no misspelled annotation key",
      `ok   the cluster's tokens carry iss ${issuer}`,
      `ok   issuer URL ${issuer} is https without trailing slash, query or fragment`,
      `ok   discovery document served at ${issuer}/.well-known/openid-configuration`,
      `ok   discovery issuer equals ${issuer} byte for byte`,
      `ok   JWKS served at ${issuer}/openid/v1/jwks with 2 keys`,
      `ok   key ${kubernetesKids.rsa}: RS256, RSA 2048 bits`,
      `ok   key ${kubernetesKids.ecP256}: ES256, EC P-256`,
      `ok   the published JWKS holds the cluster's 2 signing keys (${kubernetesKids.rsa}, ${kubernetesKids.ecP256})`,
    ]);
    assert.equal(code, 0);
  });

  it("reads every page of ServiceAccounts, sends the kubeconfig's token to the API server, and none to the public issuer", async () => {
    await doctor("--kubeconfig", kubeconfig, "--ca-file", caFile);
    const requests = apiServer.requests;
    assert.ok(
      requests.includes("GET /api/v1/serviceaccounts?limit=500 Bearer doctor-token"),
      requests.join("\n"),
    );
    assert.ok(
      requests.includes("GET /api/v1/serviceaccounts?continue=page-2&limit=500 Bearer doctor-token"),
      requests.join("\n"),
    );
    assert.ok(
      requests.includes(
        "GET /api/v1/namespaces/irsa/services/https:web-identity-webhook:443/proxy/healthz Bearer doctor-token",
      ),
    );
    // Cluster documents through the API (with the token), then the published ones as STS reads them (without).
    assert.deepEqual(
      requests.filter((request) => request.includes("/.well-known/")),
      [
        "GET /.well-known/openid-configuration Bearer doctor-token",
        "GET /.well-known/openid-configuration -",
      ],
    );
  });

  it("lists only the namespaces of --namespace-limit", async () => {
    overrides.set("/api/v1/namespaces/payments/serviceaccounts", {
      status: 200,
      body: {
        metadata: {},
        items: [serviceAccount("payments", "ledger", { "eks.amazon.com/role-arn": role })],
      },
    });
    const { code, stdout } = await doctor(
      "--kubeconfig",
      kubeconfig,
      "--ca-file",
      caFile,
      "--namespace-limit",
      "payments",
    );
    assert.equal(code, 1);
    const lines = stdout.split("\n").filter((line) => line.includes("ServiceAccount"));
    assert.deepEqual(lines, [
      "FAIL ServiceAccounts in payments: 1 read, 0 with eks.amazonaws.com/role-arn, 1 with annotation problems — fix: correct each ServiceAccount below; pods get the change when they are created again",
      `FAIL ServiceAccount payments/ledger: annotation "eks.amazon.com/role-arn" is not read (did you mean eks.amazonaws.com/role-arn?) — fix: kubectl -n payments annotate serviceaccount ledger eks.amazon.com/role-arn- eks.amazonaws.com/role-arn=${role}`,
    ]);
  });

  it("fails when the caBundle is not the CA of the served certificate, tells how to fix it, and exits 1", async () => {
    const otherCa = await createCa("an old CA");
    overrides.set(mwcPath, { status: 200, body: webhookConfiguration(otherCa.cert) });
    const { code, stdout } = await doctor("--kubeconfig", kubeconfig, "--ca-file", caFile);
    assert.equal(code, 1);
    assert.deepEqual(
      stdout.split("\n").filter((line) => line.startsWith("FAIL")),
      [
        `FAIL ${label}: the caBundle does not verify the certificate served at 127.0.0.1:${webhook.port} (subject CN=${serverName}, issuer CN=web-identity-webhook CA): UNABLE_TO_VERIFY_LEAF_SIGNATURE — fix: set the caBundle to the CA that issued the serving certificate, the only CA the API server trusts for it: self-managed and cert-manager modes write it themselves (restart the webhook, or read the cainjector's logs); certificates.mode=secret: certificates.secret.caBundle is the base64 of that CA`,
      ],
    );
  });

  it("turns the API server's refusals into FAIL lines with the permission to ask for", async () => {
    const forbidden = (what: string): StubAnswer => ({
      status: 403,
      body: {
        kind: "Status",
        status: "Failure",
        message: `${what} is forbidden`,
        reason: "Forbidden",
        code: 403,
      },
    });
    overrides.set(mwcPath, forbidden("mutatingwebhookconfigurations"));
    overrides.set("/api/v1/serviceaccounts", forbidden("serviceaccounts"));
    const { code, stdout } = await doctor("--kubeconfig", kubeconfig, "--ca-file", caFile);
    assert.equal(code, 1);
    assert.deepEqual(stdout.split("\n").slice(0, 2), [
      "FAIL cannot read MutatingWebhookConfiguration web-identity-webhook: get mutatingwebhookconfiguration web-identity-webhook: HTTP 403 (mutatingwebhookconfigurations is forbidden) — fix: use a kubeconfig whose user may get mutatingwebhookconfigurations (kubectl auth can-i get mutatingwebhookconfigurations)",
      "FAIL cannot list ServiceAccounts (after 0): list serviceaccounts --all-namespaces: HTTP 403 (serviceaccounts is forbidden) — fix: use a kubeconfig whose user may list serviceaccounts --all-namespaces (kubectl auth can-i list serviceaccounts --all-namespaces); or limit the check with --namespace-limit",
    ]);
  });

  it("fails a missing MutatingWebhookConfiguration and leaves out the checks that need it", async () => {
    overrides.set(mwcPath, { status: 404, body: { kind: "Status", message: "not found", code: 404 } });
    const { code, stdout } = await doctor(
      "--kubeconfig",
      kubeconfig,
      "--ca-file",
      caFile,
      "--webhook-config-name",
      "web-identity-webhook",
    );
    assert.equal(code, 1);
    const lines = stdout.split("\n");
    assert.ok(
      lines[0]?.startsWith("FAIL MutatingWebhookConfiguration web-identity-webhook not found — fix: "),
    );
    assert.ok(lines[1]?.startsWith("ok   ServiceAccounts: "), lines[1]);
  });
});

describe("web-identity-webhook doctor usage", () => {
  it("prints its help and exits 0", async () => {
    const { code, stdout } = await doctor("--help");
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: web-identity-webhook doctor \[flags\]\n/);
    for (const flag of [
      "kubeconfig",
      "webhook-config-name",
      "annotation-prefix",
      "issuer-url",
      "ca-file",
      "namespace-limit",
    ]) {
      assert.match(stdout, new RegExp(`--${flag}`));
    }
  });

  const bad: [string, string[], string][] = [
    ["an unknown flag", ["--bogus"], "unknown flag --bogus (see --help)"],
    ["an argument", ["now"], 'unexpected argument "now" (see --help)'],
    [
      "an --issuer-url that is not a URL",
      ["--issuer-url", "oidc.example.com"],
      '--issuer-url: "oidc.example.com" is not a URL (e.g. https://oidc.example.com/my-cluster)',
    ],
    [
      "an --issuer-url with a port, which IAM refuses",
      ["--issuer-url", "https://oidc.example.com:8443/prod"],
      '--issuer-url: "https://oidc.example.com:8443/prod" has a port: IAM refuses OIDC provider URLs with a port, even :443. Serve the issuer on the https default port and use "https://oidc.example.com/prod"',
    ],
    [
      "an --issuer-url with a user name",
      ["--issuer-url", "https://me@oidc.example.com/prod"],
      '--issuer-url: "https://me@oidc.example.com/prod" must not carry a user name or password (IAM refuses such provider URLs)',
    ],
    [
      "an unreadable --ca-file",
      ["--ca-file", "/nonexistent/ca.crt"],
      "--ca-file: cannot read /nonexistent/ca.crt (ENOENT)",
    ],
  ];
  for (const [what, argv, message] of bad) {
    it(`exits 2 on ${what}`, async () => {
      const { code, stdout, stderr } = await doctor(...argv);
      assert.equal(code, 2);
      assert.equal(stdout, "");
      assert.equal(stderr, `web-identity-webhook doctor: ${message}\n`);
    });
  }

  it("exits 2 on a kubeconfig it cannot load", async () => {
    const { code, stderr } = await doctor("--kubeconfig", "/nonexistent/kubeconfig");
    assert.equal(code, 2);
    assert.match(
      stderr,
      /^web-identity-webhook doctor: --kubeconfig: cannot load \/nonexistent\/kubeconfig \(.+\)\n$/,
    );
  });
});
