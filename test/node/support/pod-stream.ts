// A steady stream of pod creations through the API server while something happens to the webhook, and a count
// of how each was admitted. Creations the API server refuses are retried (and counted), never dropped, so a pod
// is either admitted with credentials, admitted without, or reported as never created.
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeClient } from "../../e2e/cluster/kube.js";
import type { Pod } from "../../e2e/support/pods.js";
import { hasCredentials } from "./credentials.js";

export interface StreamOptions {
  namespace: string;
  serviceAccountName: string;
  image: string;
  labels: Record<string, string>;
  /** Pods to create at least; the stream goes on at the same rate until the disruption has finished. */
  count: number;
  intervalMs: number;
  /** Started this long after the first creation. */
  disruptAfterMs: number;
  /** What happens to the webhook; resolves once the webhook is whole again. */
  disrupt(): Promise<void>;
}

export interface StreamCount {
  created: number;
  withoutCredentials: number;
  /** Pods admitted (their creation answered) while the disruption ran: what the stream is for. */
  createdDuringDisruption: number;
  /** Pods admitted without credentials before the disruption began or after it had ended. */
  withoutCredentialsOutsideDisruption: number;
  /** Refused creations, each retried. */
  refusals: number;
  /** Pods still refused when their minute of retries ran out. */
  neverCreated: number;
  /** The first refusal's message, to tell why. */
  firstRefusal: string | undefined;
  disruptionMs: number;
}

const retryForMs = 60_000;
const maxCountFactor = 10;

/**
 * Pods that are admitted but never scheduled (a scheduling gate holds them): admission is what is counted, and
 * the node's two cores stay with the webhook instead of starting 30 containers.
 */
function streamPod(options: StreamOptions, index: number): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `stream-${index}`, labels: options.labels },
    spec: {
      serviceAccountName: options.serviceAccountName,
      schedulingGates: [{ name: "web-identity-webhook.test/admission-only" }],
      containers: [{ name: "app", image: options.image }],
    },
  };
}

/** A pod the API server admitted: when its creation was answered, and whether it got credentials. */
interface Admitted {
  at: number;
  credentials: boolean;
}

/** Creates pod `index`, retrying refusals for a minute; resolves with how it was admitted, or undefined. */
async function createWithRetries(
  client: KubeClient,
  options: StreamOptions,
  index: number,
  count: StreamCount,
): Promise<Admitted | undefined> {
  const deadline = Date.now() + retryForMs;
  for (;;) {
    try {
      const created = await client.request<Pod>(
        "POST",
        `/api/v1/namespaces/${options.namespace}/pods`,
        streamPod(options, index),
      );
      return { at: Date.now(), credentials: hasCredentials(created.spec) };
    } catch (error) {
      count.refusals += 1;
      count.firstRefusal ??= error instanceof Error ? error.message.slice(0, 300) : String(error);
      if (Date.now() > deadline) return undefined;
      await sleep(250);
    }
  }
}

/** Runs the stream and the disruption together and counts the outcome. */
export async function streamPodsDuring(client: KubeClient, options: StreamOptions): Promise<StreamCount> {
  const count: StreamCount = {
    created: 0,
    withoutCredentials: 0,
    createdDuringDisruption: 0,
    withoutCredentialsOutsideDisruption: 0,
    refusals: 0,
    neverCreated: 0,
    firstRefusal: undefined,
    disruptionMs: 0,
  };
  let disruptionSettled = false;
  const window = { start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY };
  const disruption = sleep(options.disruptAfterMs)
    .then(async () => {
      window.start = Date.now();
      await options.disrupt();
      window.end = Date.now();
      count.disruptionMs = window.end - window.start;
    })
    .finally(() => {
      disruptionSettled = true;
    });
  const admitted: Admitted[] = [];
  const creations: Promise<void>[] = [];
  const began = Date.now();
  // Bounded: a disruption that never settles ends the stream after maxCount pods all the same.
  const maxCount = options.count * maxCountFactor;
  for (let index = 0; index < maxCount && (index < options.count || !disruptionSettled); index++) {
    creations.push(
      createWithRetries(client, options, index, count).then((pod) => {
        if (pod === undefined) count.neverCreated += 1;
        else admitted.push(pod);
      }),
    );
    await sleep(Math.max(0, began + (index + 1) * options.intervalMs - Date.now()));
  }
  await Promise.all(creations);
  await disruption;
  for (const pod of admitted) {
    const during = pod.at >= window.start && pod.at <= window.end;
    count.created += 1;
    if (during) count.createdDuringDisruption += 1;
    if (!pod.credentials) {
      count.withoutCredentials += 1;
      if (!during) count.withoutCredentialsOutsideDisruption += 1;
    }
  }
  return count;
}
