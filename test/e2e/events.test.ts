// Review warnings as Kubernetes Events through the real API server: on the pod's ReplicaSet, one Event per burst.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { E2eEnvironment } from "./support/environment.js";
import { startEnvironment } from "./support/environment.js";
import { eventually } from "./support/eventually.js";
import { container, type Pod, pod } from "./support/pods.js";

const nearMissAnnotation = { "eks.amazon.com/role-arn": "arn:aws:iam::111122223333:role/orders" };

interface Event {
  metadata: { name: string };
  reason: string;
  note: string;
  type: string;
  reportingController: string;
  regarding: { kind: string; name: string; uid?: string };
  related?: { kind: string; name: string };
  series?: { count: number };
}

let env: E2eEnvironment;
before(async () => {
  env = await startEnvironment();
});
after(async () => {
  await env?.stop();
});

/** A ReplicaSet object (no controller-manager runs, so it makes no pods: the test makes them as it would). */
async function replicaSet(namespace: string, name: string): Promise<{ name: string; uid: string }> {
  const res = await env.api("POST", `/apis/apps/v1/namespaces/${namespace}/replicasets`, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { serviceAccountName: "app", containers: [container("app")] },
      },
    },
  });
  if (res.status !== 201)
    throw new Error(`creating ReplicaSet ${name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return { name, uid: (res.body as { metadata: { uid: string } }).metadata.uid };
}

function podOf(owner: { name: string; uid: string }): Pod {
  const manifest = pod({
    generateName: `${owner.name}-`,
    serviceAccountName: "app",
    containers: [container("app")],
  });
  return {
    ...manifest,
    metadata: {
      ...manifest.metadata,
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: owner.name, uid: owner.uid, controller: true },
      ],
    },
  } as Pod;
}

async function eventsAbout(namespace: string, name: string): Promise<Event[]> {
  const selector = encodeURIComponent(`regarding.kind=ReplicaSet,regarding.name=${name}`);
  const res = await env.api(
    "GET",
    `/apis/events.k8s.io/v1/namespaces/${namespace}/events?fieldSelector=${selector}`,
  );
  if (res.status !== 200) throw new Error(`listing Events: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return (res.body as { items: Event[] }).items;
}

test("a ReplicaSet's pod whose ServiceAccount has a near-miss annotation puts a Warning Event on the ReplicaSet", async () => {
  const namespace = await env.newNamespace("events-near-miss");
  await env.createServiceAccount(namespace, "app", nearMissAnnotation);
  const owner = await replicaSet(namespace, "orders-7d4b9");
  const { warnings } = await env.createPod(namespace, podOf(owner));
  assert.equal(warnings.length, 1);

  const [event] = await eventually(
    "an Event on the ReplicaSet",
    () => eventsAbout(namespace, owner.name),
    (events) => events.length > 0,
  );
  assert.equal(event?.type, "Warning");
  assert.equal(event?.reason, "NoRoleArn");
  assert.equal(event?.reportingController, "web-identity-webhook");
  assert.deepEqual(event?.regarding, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    namespace,
    name: owner.name,
    uid: owner.uid,
  });
  assert.deepEqual(event?.related, { apiVersion: "v1", kind: "ServiceAccount", namespace, name: "app" });
  assert.equal(event?.note, warnings[0]);
});

test("a burst of pods from one ReplicaSet makes one Event whose series counts them all", async () => {
  const namespace = await env.newNamespace("events-burst");
  await env.createServiceAccount(namespace, "app", nearMissAnnotation);
  const owner = await replicaSet(namespace, "burst-5f8c2");
  const pods = 60;
  await Promise.all(Array.from({ length: pods }, () => env.createPod(namespace, podOf(owner))));

  // The count is patched at most every 10 s (the recorder's update interval).
  const events = await eventually(
    `one Event counting ${pods} pods`,
    () => eventsAbout(namespace, owner.name),
    (found) => found.length === 1 && found[0]?.series?.count === pods,
    30_000,
  );
  assert.equal(events.length, 1);
});
