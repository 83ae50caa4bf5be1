// The AdmissionReview doctor sends a webhook, and what counts as the right answer to it.

import type { HttpResponse } from "../oidc/http.js";

/** Name of the pod in the probe review; nothing is created (the review is a dry run). */
const probePodName = "web-identity-webhook-doctor";

/** A v1 AdmissionReview for CREATE of a pod of the `default` ServiceAccount, as a dry run. */
export function probeReview(uid: string, namespace: string): string {
  const kind = { group: "", version: "v1", kind: "Pod" };
  const resource = { group: "", version: "v1", resource: "pods" };
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind,
      resource,
      requestKind: kind,
      requestResource: resource,
      name: probePodName,
      namespace,
      operation: "CREATE",
      userInfo: { username: "web-identity-webhook-doctor" },
      object: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: probePodName, namespace },
        spec: { serviceAccountName: "default", containers: [{ name: "app", image: "app" }] },
      },
      oldObject: null,
      dryRun: true,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  });
}

/** Why `answer` does not allow the probe review `uid`, or undefined when it does. */
export function probeAnswerProblem(answer: HttpResponse, uid: string): string | undefined {
  let review: unknown;
  try {
    review = JSON.parse(answer.body);
  } catch {
    return "the body is not JSON";
  }
  const response = isObject(review) ? review.response : undefined;
  if (!isObject(response)) return "the body is not an AdmissionReview with a response";
  if (response.uid !== uid) return `the response's uid is ${JSON.stringify(response.uid)}, not ${uid}`;
  if (response.allowed !== true) {
    const status = isObject(response.status) ? response.status.message : undefined;
    return `the response does not allow the pod${typeof status === "string" ? ` (${status})` : ""}`;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
