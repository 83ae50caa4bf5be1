// --watch-config-map against the real API server: kOps' exact arguments and ConfigMap, a ServiceAccount without
// annotations, and changes to the ConfigMap seen through the watch without a restart.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { freePort } from "../support/ports.js";
import type { E2eEnvironment } from "./support/environment.js";
import { startEnvironment } from "./support/environment.js";
import { eventually } from "./support/eventually.js";
import { container, pod } from "./support/pods.js";
import { type AdmissionResponse, patched } from "./support/webhook-client.js";
import { startWebhookProcess, type WebhookProcess } from "./support/webhook-process.js";

const dnsRole = "arn:aws:iam::123456789012:role/dns-controller.kube-system.sa.minimal.example.com";
const otherRole = "arn:aws:iam::123456789012:role/dns-controller-2";
// As kOps generates it: one line, Go field names, every field set.
const kopsConfig = (roleArn: string, namespace: string) =>
  JSON.stringify({
    [`${namespace}/dns-controller`]: {
      RoleARN: roleArn,
      Audience: "amazonaws.com",
      UseRegionalSTS: true,
      TokenExpiration: 86400,
    },
  });

let env: E2eEnvironment;
let webhook: WebhookProcess | undefined;
let namespace = "";
before(async () => {
  env = await startEnvironment();
  namespace = await env.newNamespace("kops");
  await env.createServiceAccount(namespace, "dns-controller");
  const created = await env.api("POST", `/api/v1/namespaces/${namespace}/configmaps`, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "pod-identity-webhook" },
    data: { config: kopsConfig(dnsRole, namespace) },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  webhook = await startWebhookProcess({
    kubeconfigPath: env.cluster.kubeconfigPath,
    certificate: env.certificate,
    port: await freePort(),
    metricsPort: await freePort(),
    dir: env.cluster.dir,
    logName: "webhook-config-map",
    // kOps' arguments; kOps runs the webhook in the ConfigMap's namespace, which --namespace names here.
    extraArgs: [
      "--in-cluster=false",
      "--watch-config-map",
      "--sts-regional-endpoint",
      "--aws-default-region=eu-west-3",
      "--token-audience=amazonaws.com",
      "--v=5",
      `--namespace=${namespace}`,
    ],
  });
});
after(async () => {
  await webhook?.stop();
  await env?.stop();
});

function started(): WebhookProcess {
  assert.ok(webhook, "the webhook did not start (see the before hook's error)");
  return webhook;
}

const manifest = pod({ name: "dns", serviceAccountName: "dns-controller", containers: [container("dns")] });

function envOf(response: AdmissionResponse): Record<string, string | undefined> {
  const containerEnv = patched(manifest, response).spec.containers[0]?.env ?? [];
  return Object.fromEntries(containerEnv.map((variable) => [variable.name, variable.value]));
}

function configMapWith(config: string) {
  return env.api("PUT", `/api/v1/namespaces/${namespace}/configmaps/pod-identity-webhook`, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "pod-identity-webhook", namespace },
    data: { config },
  });
}

test("a ServiceAccount without annotations gets the kOps ConfigMap's role, audience and regional STS", async () => {
  const answer = await started().client.reviewPodCreate(namespace, manifest);
  assert.equal(answer.allowed, true);
  const variables = envOf(answer);
  assert.equal(variables.AWS_ROLE_ARN, dnsRole);
  assert.equal(variables.AWS_STS_REGIONAL_ENDPOINTS, "regional");
  assert.equal(variables.AWS_REGION, "eu-west-3");
  const volumes = patched(manifest, answer).spec.volumes ?? [];
  assert.match(JSON.stringify(volumes), /"audience":"amazonaws.com","expirationSeconds":86400/);
});

test("a change to the ConfigMap is seen without a restart, a malformed one keeps the last, a removed entry ends injection", async () => {
  const target = started();
  const changed = await configMapWith(kopsConfig(otherRole, namespace));
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  await eventually(
    "the watch brings the new role",
    () => target.client.reviewPodCreate(namespace, manifest),
    (response) => envOf(response).AWS_ROLE_ARN === otherRole,
    10_000,
  );

  const malformed = await configMapWith('{"broken": ');
  assert.equal(malformed.status, 200, JSON.stringify(malformed.body));
  // A later valid change proves the malformed one was seen (events arrive in order) and refused.
  await configMapWith(kopsConfig(otherRole, namespace).replace("dns-controller-2", "dns-controller-3"));
  await eventually(
    "the watch brings the change after the malformed one",
    () => target.client.reviewPodCreate(namespace, manifest),
    (response) => envOf(response).AWS_ROLE_ARN === "arn:aws:iam::123456789012:role/dns-controller-3",
    10_000,
  );

  const emptied = await configMapWith("{}");
  assert.equal(emptied.status, 200, JSON.stringify(emptied.body));
  const answer = await eventually(
    "the watch removes the entry",
    () => target.client.reviewPodCreate(namespace, manifest),
    (response) => response.patch === undefined,
    10_000,
  );
  assert.equal(answer.allowed, true);
});
