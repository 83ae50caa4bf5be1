// `doctor` against the real API server, a running webhook, annotated ServiceAccounts and a published issuer.
import assert from "node:assert/strict";
import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort } from "../support/ports.js";
import { type IssuerServer, startIssuerServer } from "../unit/oidc/issuer-server.js";
import { startCluster, type TestCluster } from "./cluster/cluster.js";
import { type CliResult, runCli } from "./support/cli.js";
import { createServingCertificate, type ServingCertificate } from "./support/serving-certificate.js";
import { startWebhookProcess, type WebhookProcess } from "./support/webhook-process.js";

const configurationName = "doctor-e2e";
const webhookName = "irsa.doctor-e2e.example.com";
const namespace = "doctor";
const roleArnKey = "eks.amazonaws.com/role-arn";
const validArn = "arn:aws:iam::111122223333:role/orders";
const badArn = "arn:aws:iam::111122223333:user/alice";
const nearMissKey = "eks.amazon.com/role-arn";
const configurationsPath = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";

interface ServiceAccount {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
}

let issuerServer: IssuerServer;
let cluster: TestCluster;
let certificate: ServingCertificate;
let webhook: WebhookProcess | undefined;
let issuer: string;
let issuerCaPath: string;

async function createServiceAccount(name: string, annotations: Record<string, string>): Promise<void> {
  await cluster.client.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, annotations },
  });
}

async function replaceAnnotations(name: string, annotations: Record<string, string>): Promise<void> {
  const path = `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`;
  const current = await cluster.client.request<ServiceAccount>("GET", path);
  await cluster.client.request("PUT", path, { ...current, metadata: { ...current.metadata, annotations } });
}

/** Serves the documents `oidc generate` writes from the API server's key at the issuer URL. */
async function publishIssuer(dir: string): Promise<void> {
  const generated = await runCli([
    "oidc",
    "generate",
    "--issuer",
    issuer,
    "--public-key",
    cluster.saPublicKeyPath,
    "--out",
    dir,
  ]);
  assert.equal(generated.code, 0, generated.stderr);
  for (const path of [".well-known/openid-configuration", "openid/v1/jwks"]) {
    issuerServer.routes.set(`/${path}`, { status: 200, body: await readFile(join(dir, path), "utf8") });
  }
}

before(async () => {
  issuerServer = await startIssuerServer();
  // A portless public URL (IAM refuses ports), reached through the issuer server's proxy.
  issuer = issuerServer.issuer;
  cluster = await startCluster({ issuer });
  const work = join(cluster.dir, "doctor");
  await mkdir(work);
  issuerCaPath = join(work, "issuer-ca.crt");
  await writeFile(issuerCaPath, issuerServer.caPem);
  await publishIssuer(join(work, "issuer"));

  certificate = await createServingCertificate(work);
  webhook = await startWebhookProcess({
    kubeconfigPath: cluster.kubeconfigPath,
    certificate,
    port: await freePort(),
    metricsPort: 0,
    dir: work,
  });
  await cluster.client.request("POST", configurationsPath, {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: configurationName },
    webhooks: [
      {
        name: webhookName,
        clientConfig: { url: webhook.mutateUrl, caBundle: certificate.caBundle },
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
        failurePolicy: "Ignore",
        // No namespace carries this label: the API server never calls the webhook, doctor still finds it.
        namespaceSelector: { matchLabels: { "doctor-e2e.example.com/never": "true" } },
      },
    ],
  });

  await cluster.createNamespace(namespace);
  await createServiceAccount("orders", { [roleArnKey]: validArn });
  await createServiceAccount("bad-arn", { [roleArnKey]: badArn });
  await createServiceAccount("typo", { [nearMissKey]: validArn });
});
after(async () => {
  await webhook?.stop();
  await cluster?.stop();
  await issuerServer?.close();
});

function doctor(): Promise<CliResult> {
  return runCli(
    [
      "doctor",
      "--kubeconfig",
      cluster.kubeconfigPath,
      "--webhook-config-name",
      configurationName,
      "--ca-file",
      issuerCaPath,
    ],
    60_000,
    issuerServer.proxyEnv,
  );
}

/** The lines every run prints before the ServiceAccount checks: configuration, certificate, answer. */
function webhookLines(): string[] {
  const label = `webhook ${webhookName}`;
  const at = new URL(webhook?.mutateUrl ?? "").host;
  const validTo = new Date(new X509Certificate(certificate.certPem).validTo).toISOString();
  return [
    `ok   MutatingWebhookConfiguration ${configurationName} exists`,
    `ok   ${label} has a rule for pods CREATE`,
    `ok   ${label} declares sideEffects None`,
    `ok   ${label} caBundle holds 1 certificate`,
    `ok   ${label}: ${at} serves a certificate for 127.0.0.1 that the caBundle trusts (valid until ${validTo})`,
    `ok   ${label} allows a test pod: POST /mutate at ${at} answered an AdmissionReview`,
  ];
}

/** The lines of the issuer checks when the published JWKS holds the API server's key. */
async function issuerLines(): Promise<string[]> {
  // kube-apiserver's key ID: base64url of the SHA-256 of the public key's PKIX DER.
  const publicKey = createPublicKey(await readFile(cluster.saPublicKeyPath, "utf8"));
  const kid = createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("base64url");
  return [
    `ok   the cluster's tokens carry iss ${issuer}`,
    `ok   issuer URL ${issuer} is https without trailing slash, query or fragment`,
    `ok   discovery document served at ${issuer}/.well-known/openid-configuration`,
    `ok   discovery issuer equals ${issuer} byte for byte`,
    `ok   JWKS served at ${issuer}/openid/v1/jwks with 1 key`,
    `ok   key ${kid}: RS256, RSA 2048 bits`,
    `ok   the published JWKS holds the cluster's signing key (${kid})`,
  ];
}

test("doctor exits 1 with one line for a ServiceAccount with a bad role ARN and one for a misspelled key", async () => {
  const result = await doctor();
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.equal(result.stderr, "");
  assert.deepEqual(result.stdout.trimEnd().split("\n"), [
    ...webhookLines(),
    // doctor/default, orders, bad-arn and typo; the API server makes no ServiceAccount of its own.
    `FAIL ServiceAccounts: 4 read, 2 with ${roleArnKey}, 2 with annotation problems — fix: correct each ServiceAccount below; pods get the change when they are created again`,
    `FAIL ServiceAccount ${namespace}/bad-arn: ${roleArnKey} "${badArn}" is not an IAM role ARN — fix: kubectl -n ${namespace} annotate serviceaccount bad-arn --overwrite ${roleArnKey}=arn:aws:iam::<12-digit account>:role/<name>`,
    `FAIL ServiceAccount ${namespace}/typo: annotation "${nearMissKey}" is not read (did you mean ${roleArnKey}?) — fix: kubectl -n ${namespace} annotate serviceaccount typo ${nearMissKey}- ${roleArnKey}=${validArn}`,
    ...(await issuerLines()),
  ]);
});

test("doctor exits 0 with every check ok once the ServiceAccounts are corrected", async () => {
  await replaceAnnotations("bad-arn", { [roleArnKey]: "arn:aws:iam::111122223333:role/alice" });
  await replaceAnnotations("typo", { [roleArnKey]: validArn });
  const result = await doctor();
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(result.stderr, "");
  assert.deepEqual(result.stdout.trimEnd().split("\n"), [
    ...webhookLines(),
    `ok   ServiceAccounts: 4 read, 3 with ${roleArnKey}, every role an IAM role ARN, no misspelled annotation key`,
    ...(await issuerLines()),
  ]);
});
