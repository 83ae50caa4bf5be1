// What a review tells its pod's owner: which object an Event is about, its reason and note, from the pod and the warnings.

import type { OwnerReference, Pod } from "../mutation/pod.js";

/** The object an Event is about (events.k8s.io/v1 `regarding` / `related`). */
export interface EventObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
}

/** One review's warnings, addressed to the object a person will `kubectl describe`. */
export interface EventNotice {
  readonly regarding: EventObject;
  /** The pod's ServiceAccount, when the Event is about the pod's controller. */
  readonly related?: EventObject;
  /** CamelCase, from the review's reason: `lookup-failed` → `LookupFailed`. */
  readonly reason: string;
  readonly note: string;
}

/** events.k8s.io/v1 refuses a note over 1 KiB (NoteLengthLimit). */
export const noteLimitBytes = 1024;

/**
 * The Event goes on the pod's controller (a ReplicaSet, Job, StatefulSet...): the pod does not exist yet, the
 * controller is where Kubernetes already reports pods it could not create (FailedCreate), and its reference
 * carries the uid that `kubectl describe` matches events by. A pod without a controller is someone's own: the
 * Event goes on its ServiceAccount, the object that holds the configuration (whose uid we do not know, so
 * `kubectl get events` shows it and `kubectl describe` may not).
 */
export function eventNotice(
  pod: Pod,
  namespace: string,
  serviceAccountName: string,
  reviewReason: string,
  warnings: readonly string[],
): EventNotice {
  const serviceAccount: EventObject = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    namespace,
    name: serviceAccountName,
  };
  const controller = controllerOf(pod.metadata?.ownerReferences);
  const note = truncatedNote(warnings.join(" | "));
  const reason = camelCase(reviewReason);
  if (controller === undefined) return { regarding: serviceAccount, reason, note };
  return {
    regarding: {
      apiVersion: controller.apiVersion,
      kind: controller.kind,
      namespace,
      name: controller.name,
      uid: controller.uid,
    },
    related: serviceAccount,
    reason,
    note,
  };
}

function controllerOf(references: readonly OwnerReference[] | null | undefined): OwnerReference | undefined {
  return references?.find((reference) => reference.controller === true);
}

function camelCase(reason: string): string {
  return reason
    .split("-")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
}

const encoder = new TextEncoder();

function truncatedNote(text: string): string {
  if (encoder.encode(text).length <= noteLimitBytes) return text;
  // Cut by code points so no character is split, leaving room for the ellipsis (3 bytes).
  let bytes = 0;
  let cut = "";
  for (const character of text) {
    const size = encoder.encode(character).length;
    if (bytes + size > noteLimitBytes - 3) break;
    bytes += size;
    cut += character;
  }
  return `${cut}…`;
}
