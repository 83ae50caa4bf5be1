// One review, start to answer: is it a pod being created, whose ServiceAccount, what the engine decides.

import { readPod } from "../admission/pod.js";
import { type AdmissionResponse, allowed, errored, patched } from "../admission/response.js";
import type { AdmissionRequest } from "../admission/review.js";
import { type EventNotice, eventNotice } from "../events/notice.js";
import { decide } from "../mutation/decide.js";
import type { EngineOptions } from "../mutation/options.js";
import type { ServiceAccountRecord } from "../mutation/pod.js";
import type { ServiceAccountSource } from "../serviceaccounts/source.js";
import type { ReviewOutcome } from "./metrics.js";

export interface ReviewDeps {
  readonly options: EngineOptions;
  readonly source: ServiceAccountSource;
  /**
   * Longest wait for source.get(); the source enforces its own --lookup-timeout, this bounds a source
   * that does not, so a review always ends before the API server's webhook timeout.
   */
  readonly lookupGuardMs: number;
}

/** What the review log line says about the pod; absent for reviews that are not pod creations. */
export interface PodFacts {
  readonly pod: string;
  readonly serviceAccount: string;
}

export interface ReviewResult {
  readonly response: AdmissionResponse;
  readonly outcome: ReviewOutcome;
  /** A decision reason (mutated, no-role-arn, ...) or why the engine was not asked (not-a-pod, lookup-failed, ...). */
  readonly reason: string;
  readonly podFacts?: PodFacts;
  /** Set when something failed unexpectedly; logged at error level. */
  readonly error?: string;
  /** The warnings as an Event for the pod's controller or ServiceAccount; set when there are warnings. */
  readonly event?: EventNotice;
}

/** Answers a decoded review. It never rejects: a well-formed pod review is always admitted. */
export async function reviewPod(request: AdmissionRequest, deps: ReviewDeps): Promise<ReviewResult> {
  const { uid } = request;
  if (!isPodResource(request)) return { response: allowed(uid), outcome: "skipped", reason: "not-a-pod" };
  if (request.operation !== "CREATE")
    return { response: allowed(uid), outcome: "skipped", reason: "not-create" };

  const reading = readPod(request.object);
  if (!reading.ok)
    return { response: errored(uid, 400, reading.problem), outcome: "invalid", reason: "invalid-pod" };
  const { pod } = reading;
  const metadata = pod.metadata;
  const serviceAccountName = pod.spec?.serviceAccountName || "default";
  const namespace = request.namespace || metadata?.namespace || "";
  const podFacts: PodFacts = {
    pod: metadata?.name || metadata?.generateName || "",
    serviceAccount: serviceAccountName,
  };

  let serviceAccount: ServiceAccountRecord | undefined;
  if (namespace !== "") {
    try {
      serviceAccount =
        deps.source.peek?.(namespace, serviceAccountName) ??
        (await lookup(deps, namespace, serviceAccountName));
    } catch (error) {
      const why = messageOf(error);
      const warning = `web-identity-webhook could not look up ServiceAccount ${namespace}/${serviceAccountName}: ${why}; pod admitted without AWS credentials injection`;
      return {
        response: allowed(uid, [warning]),
        outcome: "error",
        reason: "lookup-failed",
        podFacts,
        error: why,
        event: eventNotice(pod, namespace, serviceAccountName, "lookup-failed", [warning]),
      };
    }
  }

  try {
    const decision = decide(pod, serviceAccount, deps.options);
    const outcome = decision.patch.length > 0 ? "mutated" : "skipped";
    return {
      response: patched(uid, decision.patch, decision.warnings),
      outcome,
      reason: decision.reason,
      podFacts,
      ...(decision.warnings.length > 0 && namespace !== ""
        ? { event: eventNotice(pod, namespace, serviceAccountName, decision.reason, decision.warnings) }
        : {}),
    };
  } catch (error) {
    const why = messageOf(error);
    const warning = `web-identity-webhook failed to decide on this pod (${why}); pod admitted without AWS credentials injection`;
    return {
      response: allowed(uid, [warning]),
      outcome: "error",
      reason: "internal-error",
      podFacts,
      error: why,
      ...(namespace !== ""
        ? { event: eventNotice(pod, namespace, serviceAccountName, "internal-error", [warning]) }
        : {}),
    };
  }
}

function isPodResource(request: AdmissionRequest): boolean {
  return (
    request.kind.kind === "Pod" &&
    request.kind.group === "" &&
    request.resource.resource === "pods" &&
    request.resource.group === "" &&
    request.subResource === ""
  );
}

async function lookup(
  deps: ReviewDeps,
  namespace: string,
  name: string,
): Promise<ServiceAccountRecord | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${deps.lookupGuardMs} ms`)),
      deps.lookupGuardMs,
    );
    // A review still waiting must not keep a shutting-down process alive.
    timer.unref();
  });
  try {
    return await Promise.race([deps.source.get(namespace, name), guard]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
