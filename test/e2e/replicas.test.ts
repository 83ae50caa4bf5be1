// Two webhook replicas behind the chart's Service, one SIGKILLed in the middle of a burst of pod creations,
// under the chart's fail-closed opt-in configuration.
//
// What kube-apiserver v1.37.2 does when a replica dies (k8s.io/apiserver@v0.37.2 unless named otherwise):
// - The mutating dispatcher calls each webhook once: `client.Post()...Do(ctx)` (mutating/dispatcher.go:282,297);
//   an error becomes ErrCallingWebhook (:303-310) and, under failurePolicy Fail, the request is refused with
//   a 500 naming the webhook (:225-226). There is no retry loop around the call.
// - The call is a client-go rest.Request, which retries a connection error only for GET
//   (client-go@v0.37.2 rest/request.go:1066-1078) and otherwise only on a 429 or 5xx answer carrying
//   Retry-After (rest/with_retry.go:148-193, :309-318). A dead replica sends no answer at all.
// - net/http retries a request on a reused connection only if nothing was written or the request is
//   replayable, which a POST is not (go/src/net/http/transport.go:818-863), and then to the same address.
// - The endpoint is picked per call: with --enable-aggregator-routing, a random ready endpoint of the Service's
//   EndpointSlices (kubernetes@v1.37.2 cmd/kube-apiserver/app/server.go:303-311; util/proxy/proxy.go:59-149),
//   resolved on every round trip (util/webhook/client.go:200-229, :288-304, WebhookRoundTripLoadBalancing).
// So the "the API server's retries land on the other replica" is wrong: nothing retries. A call that
// picks the dead endpoint (still listed until the EndpointSlice controller drops it) fails, and in fail-closed
// mode its pod is refused with an explicit error; only the calls that pick the live endpoint, and every call
// once the dead one is gone from the slices, land on the other replica. The tests assert exactly that.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { MutatingWebhookConfiguration } from "../chart/kinds.js";
import { startCluster, type TestCluster } from "./cluster/cluster.js";
import { type Creation, createInBurst } from "./replica-support/burst.js";
import { endpointAddress, type Replica, startReplica } from "./replica-support/replica.js";
import { createServiceCertificate } from "./replica-support/service-certificate.js";
import {
  addEndpoint,
  type ChartRouting,
  createService,
  registerConfiguration,
  removeEndpoint,
  renderChartRouting,
} from "./replica-support/service-routing.js";
import { type ApiRequest, createApiRequest } from "./support/api-request.js";
import { eventually } from "./support/eventually.js";
import {
  byContainer,
  container,
  type Pod,
  type PodSpec,
  pod,
  serviceAccount,
  tokenMount,
  tokenProjection,
  webIdentityEnv,
} from "./support/pods.js";
import { optInValuesFile, releaseNamespace } from "./support/webhook-configuration.js";

const roleArn = "arn:aws:iam::111122223333:role/orders";
const burstSize = 80;
const concurrency = 8;
/** The replica is killed when this many creations have been answered, with others in flight. */
const killAfter = 20;

let cluster: TestCluster | undefined;
let api: ApiRequest;
let routing: ChartRouting;
const replicas: Replica[] = [];
let optInLabel: Record<string, string>;

function replica(index: 0 | 1): Replica {
  const found = replicas[index];
  if (found === undefined) throw new Error(`replica ${index} was not started`);
  return found;
}

/** The label the rendered opt-in configuration requires (its objectSelector `In` term). */
function requiredLabel(configuration: MutatingWebhookConfiguration): Record<string, string> {
  const term = configuration.webhooks[0]?.objectSelector.matchExpressions?.find((e) => e.operator === "In");
  const value = term?.values?.[0];
  if (term === undefined || value === undefined)
    throw new Error("the opt-in configuration has no In selector");
  return { [term.key]: value };
}

function optedInPod(name: string): Pod {
  return pod({ name, serviceAccountName: "app", labels: optInLabel, containers: [container("app")] });
}

async function createAppNamespace(name: string): Promise<void> {
  if (cluster === undefined) throw new Error("no cluster");
  await cluster.createNamespace(name);
  await cluster.client.request(
    "POST",
    `/api/v1/namespaces/${name}/serviceaccounts`,
    serviceAccount("app", { "eks.amazonaws.com/role-arn": roleArn }),
  );
}

const createPod = (namespace: string, name: string) =>
  api("POST", `/api/v1/namespaces/${namespace}/pods`, optedInPod(name));

/** Whether a dry-run opted-in pod in `namespace` comes back with the token volume. */
async function dryRunMutated(namespace: string): Promise<boolean> {
  const res = await api("POST", `/api/v1/namespaces/${namespace}/pods?dryRun=All`, optedInPod("probe"));
  return res.status === 201 && tokenProjection((res.body as Pod).spec) !== undefined;
}

/** Problems with the credentials of a stored pod; empty when it has exactly what the webhook injects. */
function credentialProblems(spec: PodSpec): string[] {
  const problems: string[] = [];
  const env = JSON.stringify(byContainer(spec, "env"));
  if (env !== JSON.stringify({ app: webIdentityEnv(roleArn) })) problems.push(`env ${env}`);
  const projection = JSON.stringify(tokenProjection(spec));
  const expected = JSON.stringify({ audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" });
  if (projection !== expected) problems.push(`token volume ${projection}`);
  const mounts = byContainer(spec, "volumeMounts").app ?? [];
  if (!mounts.some((m) => JSON.stringify(m) === JSON.stringify(tokenMount))) problems.push("no token mount");
  return problems;
}

/** The pods stored in namespace, by name. */
async function storedPods(namespace: string): Promise<Map<string, Pod>> {
  if (cluster === undefined) throw new Error("no cluster");
  const list = await cluster.client.request<{ items: Pod[] }>("GET", `/api/v1/namespaces/${namespace}/pods`);
  return new Map(list.items.map((p) => [p.metadata.name ?? "", p]));
}

function burstNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
}

before(async () => {
  cluster = await startCluster();
  api = createApiRequest(cluster.credentials);
  await cluster.createNamespace(releaseNamespace);
  routing = await renderChartRouting(releaseNamespace, [optInValuesFile]);
  optInLabel = requiredLabel(routing.configuration);
  const certificate = await createServiceCertificate(cluster.dir, routing.serviceHost);
  const address = endpointAddress();
  for (const name of ["replica-a", "replica-b"]) {
    replicas.push(
      await startReplica({
        name,
        address,
        kubeconfigPath: cluster.kubeconfigPath,
        certificate,
        serviceHost: routing.serviceHost,
        dir: cluster.dir,
      }),
    );
  }
  await createService(cluster.client, releaseNamespace, routing.service);
  for (const r of replicas) {
    await addEndpoint(cluster.client, releaseNamespace, routing.service, r);
  }
  await registerConfiguration(cluster.client, routing.configuration, certificate.caBundle);

  // In force once the API server has called each replica through the Service at least once.
  await createAppNamespace("probe");
  await eventually(
    "the API server calls both replicas through the chart's Service",
    async () => {
      const mutated = await dryRunMutated("probe");
      const reviewed = await Promise.all(replicas.map(async (r) => (await r.reviewedPods("probe")).length));
      return { mutated, reviewed };
    },
    ({ mutated, reviewed }) => mutated && reviewed.every((count) => count > 0),
    30_000,
  );
});

after(async () => {
  for (const r of replicas) await r.stop();
  await cluster?.stop();
});

test("a replica killed mid-burst: no opted-in pod is admitted without credentials, each refusal is an explicit fail-closed error, not retried on the survivor", async (t) => {
  const webhook = routing.configuration.webhooks[0];
  assert.equal(webhook?.failurePolicy, "Fail", "the chart's opt-in configuration fails closed");
  const [dead, survivor] = [replica(0), replica(1)];
  const namespace = "burst";
  await createAppNamespace(namespace);

  const started = Date.now();
  const creations = await createInBurst({
    names: burstNames("burst", burstSize),
    concurrency,
    create: (name) => createPod(namespace, name),
    // New creations wait until the process is gone; the ones in flight go on.
    onSettled: (settled) => (settled === killAfter ? dead.kill() : undefined),
  });
  const elapsedMs = Date.now() - started;

  const admitted = creations.filter((c) => c.response.status === 201);
  const refused = creations.filter((c) => c.response.status !== 201);
  const sentAfterKill = creations.filter((c) => c.sentAfter >= killAfter);
  const refusedAfterKill = sentAfterKill.filter((c) => c.response.status !== 201);
  const stored = await storedPods(namespace);
  const reviewedBySurvivor = new Set(await survivor.reviewedPods(namespace));
  const reviewedByDead = new Set(await dead.reviewedPods(namespace));
  t.diagnostic(
    `${creations.length} creations in ${elapsedMs} ms: ${admitted.length} admitted (${reviewedByDead.size} reviewed by ${dead.name} before the kill, ` +
      `${reviewedBySurvivor.size} by ${survivor.name}), ${refused.length} refused, ${refusedAfterKill.length} of them sent after the kill`,
  );

  // Before the kill the API server spread the pods over both replicas, and refused none.
  const answeredBeforeKill = creations.filter((c) => c.settledAs <= killAfter);
  assert.ok(
    answeredBeforeKill.some((c) => reviewedByDead.has(c.name)) &&
      answeredBeforeKill.some((c) => reviewedBySurvivor.has(c.name)),
    "both replicas reviewed pods before the kill",
  );
  assert.deepEqual(answeredBeforeKill.filter((c) => c.response.status !== 201).map(summary), []);
  // Every admitted pod, and every pod stored at all, carries the credentials; nothing else was stored.
  assert.deepEqual(
    admitted.map((c) => c.name),
    [...stored.keys()].sort(),
  );
  for (const [name, storedPod] of stored) {
    assert.deepEqual(credentialProblems(storedPod.spec), [], `stored pod ${name}`);
  }
  // Each refusal is the fail-closed 500 of a failed call, never a silent admission, and not the survivor's doing.
  for (const creation of refused) {
    const status = creation.response.body as { kind?: string; message?: string };
    assert.equal(creation.response.status, 500, summary(creation));
    assert.equal(status.kind, "Status", summary(creation));
    assert.ok(status.message?.includes(`failed calling webhook "${webhook.name}"`), summary(creation));
    assert.ok(
      !reviewedBySurvivor.has(creation.name),
      `${summary(creation)}, yet ${survivor.name} reviewed it`,
    );
  }
  // Pods sent after the kill are admitted only through the surviving replica.
  for (const creation of sentAfterKill.filter((c) => c.response.status === 201)) {
    assert.ok(reviewedBySurvivor.has(creation.name), `${creation.name} was not reviewed by ${survivor.name}`);
  }
  // No retry: with the dead endpoint still listed, a call that dials it is refused instead of moving on to the
  // survivor. Each call picks it with probability 1/2, so none among ~60 would mean the API server retried.
  const deadDial = `dial tcp ${dead.address}:${dead.port}: connect: connection refused`;
  assert.ok(
    refusedAfterKill.some((c) => summary(c).includes(deadDial)),
    `no creation sent after the kill was refused with "${deadDial}": the API server retried`,
  );
  assert.ok(refusedAfterKill.length < sentAfterKill.length, "every creation sent after the kill was refused");
});

test("once the dead replica's endpoint is removed, every pod is admitted through the survivor with credentials", async (t) => {
  if (cluster === undefined) throw new Error("no cluster");
  const [dead, survivor] = [replica(0), replica(1)];
  await dead.kill();
  const namespace = "after-removal";
  await createAppNamespace(namespace);

  await removeEndpoint(cluster.client, releaseNamespace, routing.service, dead);
  // The API server's informer follows the slices within moments; 20 dry runs in a row mutated (each would
  // pick a still-listed dead endpoint with probability 1/2) say it has.
  let inARow = 0;
  await eventually(
    "the API server stops calling the removed endpoint",
    async () => {
      inARow = (await dryRunMutated(namespace)) ? inARow + 1 : 0;
      return inARow;
    },
    (count) => count >= 20,
    // 20 creations in a row, each a webhook call, after the slices propagated: seconds on a busy machine.
    60_000,
  );

  const started = Date.now();
  const creations = await createInBurst({
    names: burstNames("after", burstSize / 2),
    concurrency,
    create: (name) => createPod(namespace, name),
  });
  const elapsedMs = Date.now() - started;
  const stored = await storedPods(namespace);
  const reviewedBySurvivor = new Set(await survivor.reviewedPods(namespace));
  t.diagnostic(`${creations.length} creations in ${elapsedMs} ms, all through ${survivor.name}`);

  assert.deepEqual(creations.filter((c) => c.response.status !== 201).map(summary), []);
  assert.deepEqual(
    [...stored.keys()].sort(),
    creations.map((c) => c.name),
  );
  for (const [name, storedPod] of stored) {
    assert.deepEqual(credentialProblems(storedPod.spec), [], `stored pod ${name}`);
    assert.ok(reviewedBySurvivor.has(name), `${name} was not reviewed by ${survivor.name}`);
  }
});

/** One line naming the creation and its answer, for assertion messages. */
function summary(creation: Creation): string {
  const message = (creation.response.body as { message?: string }).message ?? "";
  return `${creation.name}: HTTP ${creation.response.status} ${message}`.trim();
}
