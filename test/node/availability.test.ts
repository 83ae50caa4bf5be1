// Availability, counted on a real node: pods created at a steady rate while a webhook pod is deleted, the
// Deployment is restarted, or a webhook process is SIGKILLed. Under the chart's default failurePolicy (Ignore)
// the pods admitted without credentials are reported; in opt-in mode (Fail) there must be none.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { container, type Pod, pod, serviceAccount } from "../e2e/support/pods.js";
import { runCommand } from "../support/command.js";
import { startNode, type TestNode } from "./support/cluster.js";
import { hasCredentials } from "./support/credentials.js";
import { type StreamCount, streamPodsDuring } from "./support/pod-stream.js";
import { type PublishedRelease, publishToNode } from "./support/release.js";
import { chartReadmeCommands, installWebhook, release, runReadmeCommand } from "./support/webhook-release.js";

const appNamespace = "stream";
const roleArn = "arn:aws:iam::111122223333:role/stream";
/** The chart's webhook.optIn.labelKey / labelValue defaults. */
const optInLabel = { "web-identity-webhook.io/inject": "true" };
const streamLength = 30;
const streamIntervalMs = 250;

let node: TestNode | undefined;
let published: PublishedRelease | undefined;

before(async () => {
  node = await startNode();
  published = await publishToNode(node);
  await installWebhook(node, published);
  await node.createNamespace(appNamespace);
  await node.client.request(
    "POST",
    `/api/v1/namespaces/${appNamespace}/serviceaccounts`,
    serviceAccount("app", { "eks.amazonaws.com/role-arn": roleArn }),
  );
});

after(async () => {
  await published?.stop();
  const left = await node?.stop();
  assert.deepEqual(left ?? [], [], "the node left these behind");
});

function started(): { node: TestNode; published: PublishedRelease } {
  if (node === undefined || published === undefined) throw new Error("the node or the release did not start");
  return { node, published };
}

interface WebhookPod {
  metadata: { name: string; deletionTimestamp?: string };
  status: {
    podIP?: string;
    containerStatuses?: { ready: boolean; restartCount: number; containerID?: string }[];
  };
}

async function webhookPods(): Promise<WebhookPod[]> {
  const selector = encodeURIComponent(
    `app.kubernetes.io/instance=${release.name},app.kubernetes.io/component!=test`,
  );
  const list = await started().node.client.request<{ items: WebhookPod[] }>(
    "GET",
    `/api/v1/namespaces/${release.namespace}/pods?labelSelector=${selector}`,
  );
  return list.items;
}

/** Two webhook pods, ready, none terminating: the Deployment is whole. */
async function untilWhole(what: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const pods = await webhookPods();
    const ready = pods.filter(
      (p) => p.metadata.deletionTimestamp === undefined && p.status.containerStatuses?.[0]?.ready,
    );
    if (ready.length === 2 && pods.length === 2) return;
    if (Date.now() > deadline) assert.fail(`${what}: the webhook Deployment was not whole again after 180 s`);
    await sleep(200);
  }
}

async function deleteStreamPods(): Promise<void> {
  await started().node.kubectl.run([
    "-n",
    appNamespace,
    "delete",
    "pods",
    "--all",
    "--wait=true",
    "--timeout=60s",
  ]);
}

/** A webhook container's host PID, from containerd's task list, checked to be the webhook's node process. */
async function webhookPid(pod: WebhookPod): Promise<number> {
  const containerId = pod.status.containerStatuses?.[0]?.containerID?.replace(/^containerd:\/\//, "");
  const task = (await started().node.containerd.tasks()).find((t) => t.id === containerId);
  if (task === undefined)
    throw new Error(`no containerd task for ${pod.metadata.name}'s container ${containerId}`);
  const cmdline = (await readFile(`/proc/${task.pid}/cmdline`, "utf8")).replaceAll("\0", " ");
  if (!cmdline.includes("dist/cli/main.js"))
    throw new Error(`PID ${task.pid} of ${pod.metadata.name} runs ${cmdline}, not the webhook`);
  return task.pid;
}

/**
 * The webhook pod that kube-apiserver's connection to the Service is routed to (the reply source of the
 * connection's conntrack entry: kube-proxy's DNAT): disrupting the replica the API server is talking to is the
 * case that can cost a pod its credentials. The stream has been creating pods for a second by then, so a
 * connection that is not there is a failure, not a reason to pick some other pod.
 */
async function podServingTheApiServer(): Promise<WebhookPod> {
  const { node } = started();
  const service = await node.client.request<{ spec: { clusterIP: string } }>(
    "GET",
    `/api/v1/namespaces/${release.namespace}/services/${release.name}`,
  );
  const { stdout } = await runCommand("conntrack", [
    "-L",
    "-p",
    "tcp",
    "--orig-dst",
    service.spec.clusterIP,
    "--state",
    "ESTABLISHED",
  ]);
  const podIp = /dport=443 src=(\S+)/.exec(stdout)?.[1];
  const pods = await webhookPods();
  if (podIp === undefined)
    throw new Error(
      `conntrack shows no ESTABLISHED connection to the webhook Service ${service.spec.clusterIP}:443 ` +
        `while pods are being created (conntrack -L printed: ${stdout.trim() || "nothing"})`,
    );
  const victim = pods.find((p) => p.status.podIP === podIp);
  if (victim === undefined)
    throw new Error(
      `the API server's connection goes to ${podIp}, which is no webhook pod's address ` +
        `(${pods.map((p) => `${p.metadata.name}=${p.status.podIP}`).join(", ")})`,
    );
  disrupted = `${victim.metadata.name} (${podIp})`;
  return victim;
}

/** Which pod the last disruption hit, for the report. */
let disrupted = "";

const disruptions = {
  "the webhook pod the API server is connected to is deleted": async () => {
    const victim = await podServingTheApiServer();
    await started().node.kubectl.run([
      "-n",
      release.namespace,
      "delete",
      "pod",
      victim.metadata.name,
      "--wait=false",
    ]);
    await sleep(1_000);
    await untilWhole("after the pod was deleted");
  },
  "kubectl rollout restart": async () => {
    const { kubectl } = started().node;
    await kubectl.run(["-n", release.namespace, "rollout", "restart", `deployment/${release.name}`]);
    await kubectl.run([
      "-n",
      release.namespace,
      "rollout",
      "status",
      `deployment/${release.name}`,
      "--timeout=180s",
    ]);
    await untilWhole("after the rollout");
  },
  "the webhook process the API server is connected to is killed with SIGKILL": async () => {
    const victim = await podServingTheApiServer();
    const restarts = victim.status.containerStatuses?.[0]?.restartCount ?? 0;
    process.kill(await webhookPid(victim), "SIGKILL");
    const deadline = Date.now() + 120_000;
    for (;;) {
      const now = (await webhookPods()).find((p) => p.metadata.name === victim.metadata.name);
      const status = now?.status.containerStatuses?.[0];
      if (status !== undefined && status.restartCount > restarts && status.ready) break;
      if (Date.now() > deadline)
        assert.fail(`${victim.metadata.name} did not restart and become ready in 120 s`);
      await sleep(200);
    }
    await untilWhole("after the SIGKILL");
  },
} as const;

type Disruption = keyof typeof disruptions;

async function countDuring(
  t: TestContext,
  disruption: Disruption,
  labels: Record<string, string>,
): Promise<StreamCount> {
  const { node } = started();
  await untilWhole("before the stream");
  disrupted = "";
  t.after(deleteStreamPods);
  const count = await streamPodsDuring(node.client, {
    namespace: appNamespace,
    serviceAccountName: "app",
    image: node.busyboxImage,
    labels,
    count: streamLength,
    intervalMs: streamIntervalMs,
    disruptAfterMs: 1_000,
    disrupt: disruptions[disruption],
  });
  t.diagnostic(
    `${disruption} [${disrupted || "every pod"}]: ${count.withoutCredentials} of ${count.created} pods admitted without credentials ` +
      `(${count.createdDuringDisruption} admitted during the disruption); ` +
      `${count.refusals} refusals retried, ${count.neverCreated} never created; disruption lasted ${count.disruptionMs} ms` +
      (count.firstRefusal === undefined ? "" : `; first refusal: ${count.firstRefusal}`),
  );
  assert.equal(count.neverCreated, 0, "every pod of the stream was created in the end");
  assert.ok(count.created >= streamLength);
  assert.ok(
    count.createdDuringDisruption > 0,
    `no pod was admitted while ${disruption} (${count.disruptionMs} ms): the count says nothing about it`,
  );
  assert.equal(
    count.withoutCredentialsOutsideDisruption,
    0,
    "pods admitted before the disruption began or after the webhook was whole again have credentials",
  );
  return count;
}

/** Whether a dry-run pod with `labels` of the annotated ServiceAccount comes back with credentials. */
async function mutates(labels: Record<string, string>): Promise<boolean> {
  const created = await started().node.client.request<Pod>(
    "POST",
    `/api/v1/namespaces/${appNamespace}/pods?dryRun=All`,
    pod({ name: "probe", serviceAccountName: "app", labels, containers: [container("app")] }),
  );
  return hasCredentials(created.spec);
}

describe("with the chart's default values (failurePolicy Ignore)", () => {
  for (const disruption of Object.keys(disruptions) as Disruption[]) {
    test(`reports the pods admitted without credentials while ${disruption}`, async (t) => {
      await countDuring(t, disruption, {});
    });
  }
});

describe("in opt-in mode (failurePolicy Fail)", () => {
  before(async () => {
    const { node, published } = started();
    const [upgrade] = await chartReadmeCommands("Upgrade");
    if (upgrade === undefined) throw new Error("the chart README's Upgrade section has no command");
    await runReadmeCommand(node, published, upgrade, ["--set", "webhook.optIn.enabled=true"]);
    await node.kubectl.run([
      "-n",
      release.namespace,
      "rollout",
      "status",
      `deployment/${release.name}`,
      "--timeout=180s",
    ]);
    // The API server has the new configuration once a labelled pod is mutated and an unlabelled one no longer is.
    const deadline = Date.now() + 30_000;
    while (!((await mutates(optInLabel)) && !(await mutates({})))) {
      if (Date.now() > deadline)
        assert.fail("the opt-in configuration was not in force 30 s after helm upgrade");
      await sleep(200);
    }
  });

  for (const disruption of Object.keys(disruptions) as Disruption[]) {
    test(`admits no opted-in pod without credentials while ${disruption}`, async (t) => {
      const count = await countDuring(t, disruption, optInLabel);
      assert.equal(count.withoutCredentials, 0);
    });
  }
});
