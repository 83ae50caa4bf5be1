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

/** Creates pod `index`, retrying refusals for a minute; resolves with whether it got credentials, or undefined. */
async function createWithRetries(
  client: KubeClient,
  options: StreamOptions,
  index: number,
  count: StreamCount,
): Promise<boolean | undefined> {
  const deadline = Date.now() + retryForMs;
  for (;;) {
    try {
      const created = await client.request<Pod>(
        "POST",
        `/api/v1/namespaces/${options.namespace}/pods`,
        streamPod(options, index),
      );
      return hasCredentials(created.spec);
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
    refusals: 0,
    neverCreated: 0,
    firstRefusal: undefined,
    disruptionMs: 0,
  };
  let disruptionSettled = false;
  const disruption = sleep(options.disruptAfterMs)
    .then(async () => {
      const started = Date.now();
      await options.disrupt();
      count.disruptionMs = Date.now() - started;
    })
    .finally(() => {
      disruptionSettled = true;
    });
  const creations: Promise<void>[] = [];
  const began = Date.now();
  // Bounded: a disruption that never settles ends the stream after maxCount pods all the same.
  const maxCount = options.count * maxCountFactor;
  for (let index = 0; index < maxCount && (index < options.count || !disruptionSettled); index++) {
    creations.push(
      createWithRetries(client, options, index, count).then((credentials) => {
        if (credentials === undefined) count.neverCreated += 1;
        else {
          count.created += 1;
          if (!credentials) count.withoutCredentials += 1;
        }
      }),
    );
    await sleep(Math.max(0, began + (index + 1) * options.intervalMs - Date.now()));
  }
  await Promise.all(creations);
  await disruption;
  return count;
}
