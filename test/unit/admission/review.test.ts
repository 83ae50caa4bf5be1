import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeReview } from "../../../src/admission/review.js";
import { reviewJson } from "./fixtures.js";

describe("decodeReview", () => {
  test("reads a v1 pod creation, taking the namespace from the request (the pod has none)", () => {
    const body = reviewJson("pod-create-v1");
    assert.deepEqual(decodeReview(body), {
      ok: true,
      request: {
        apiVersion: "admission.k8s.io/v1",
        uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
        kind: { group: "", version: "v1", kind: "Pod" },
        resource: { group: "", version: "v1", resource: "pods" },
        subResource: "",
        operation: "CREATE",
        namespace: "shop",
        object: body.request.object,
        dryRun: false,
      },
    });
  });

  test("reads a v1beta1 review and keeps its version for the answer", () => {
    const decoded = decodeReview(reviewJson("pod-create-v1beta1"));
    assert.equal(decoded.ok && decoded.request.apiVersion, "admission.k8s.io/v1beta1");
    assert.equal(decoded.ok && decoded.request.dryRun, true);
  });

  test("reads a review of another kind, and the subresource when there is one", () => {
    const body = reviewJson("deployment-create-v1");
    body.request.subResource = "scale";
    const decoded = decodeReview(body);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.request.kind, { group: "apps", version: "v1", kind: "Deployment" });
    assert.deepEqual(decoded.request.resource, { group: "apps", version: "v1", resource: "deployments" });
    assert.equal(decoded.request.subResource, "scale");
  });

  test("treats an absent namespace, group and dryRun as empty and false", () => {
    const body = reviewJson("pod-create-v1");
    body.request.namespace = undefined;
    body.request.dryRun = undefined;
    body.request.kind = { version: "v1", kind: "Pod" };
    const decoded = decodeReview(body);
    assert.ok(decoded.ok);
    assert.equal(decoded.request.namespace, "");
    assert.equal(decoded.request.dryRun, false);
    assert.equal(decoded.request.kind.group, "");
  });

  const bad: ReadonlyArray<readonly [string, (body: ReturnType<typeof reviewJson>) => unknown, string]> = [
    ["a JSON array", () => [], "the body is not a JSON object; send an AdmissionReview"],
    ["a JSON string", () => "review", "the body is not a JSON object; send an AdmissionReview"],
    ["null", () => null, "the body is not a JSON object; send an AdmissionReview"],
    ["a Pod manifest", (b) => ({ ...b, kind: "Pod" }), 'kind is "Pod", not "AdmissionReview"'],
    [
      "an unknown apiVersion",
      (b) => ({ ...b, apiVersion: "admission.k8s.io/v2" }),
      'apiVersion is "admission.k8s.io/v2", not admission.k8s.io/v1 or admission.k8s.io/v1beta1',
    ],
    [
      "no apiVersion",
      (b) => ({ ...b, apiVersion: undefined }),
      "apiVersion is missing, not admission.k8s.io/v1 or admission.k8s.io/v1beta1",
    ],
    ["no request", (b) => ({ ...b, request: undefined }), "request is missing or not an object"],
    ["a request that is a list", (b) => ({ ...b, request: [] }), "request is missing or not an object"],
    [
      "no request.uid",
      (b) => ({ ...b, request: { ...b.request, uid: undefined } }),
      "request.uid is missing; it must be a non-empty string",
    ],
    [
      "an empty request.uid",
      (b) => ({ ...b, request: { ...b.request, uid: "" } }),
      'request.uid is ""; it must be a non-empty string',
    ],
    [
      "a numeric request.uid",
      (b) => ({ ...b, request: { ...b.request, uid: 7 } }),
      "request.uid is 7; it must be a non-empty string",
    ],
    [
      "an unknown operation",
      (b) => ({ ...b, request: { ...b.request, operation: "PATCH" } }),
      'request.operation is "PATCH", not one of CREATE, UPDATE, DELETE, CONNECT',
    ],
    [
      "no request.kind",
      (b) => ({ ...b, request: { ...b.request, kind: undefined } }),
      "request.kind is missing, not an object",
    ],
    [
      "a request.kind without kind",
      (b) => ({ ...b, request: { ...b.request, kind: { group: "", version: "v1" } } }),
      "request.kind.kind is missing; it must be a non-empty string",
    ],
    [
      "a request.resource without version",
      (b) => ({ ...b, request: { ...b.request, resource: { group: "", resource: "pods" } } }),
      "request.resource.version is missing; it must be a non-empty string",
    ],
    [
      "a numeric namespace",
      (b) => ({ ...b, request: { ...b.request, namespace: 3 } }),
      "request.namespace is 3, not a string",
    ],
    [
      "a string dryRun",
      (b) => ({ ...b, request: { ...b.request, dryRun: "yes" } }),
      'request.dryRun is "yes", not a boolean',
    ],
  ];
  for (const [name, make, problem] of bad) {
    test(`rejects ${name}: ${problem}`, () => {
      assert.deepEqual(decodeReview(make(reviewJson("pod-create-v1"))), { ok: false, problem });
    });
  }

  test("shortens a long unexpected value in the message", () => {
    const body = reviewJson("pod-create-v1");
    const decoded = decodeReview({ ...body, kind: "x".repeat(500) });
    assert.equal(decoded.ok, false);
    assert.ok(!decoded.ok && decoded.problem.length < 120, !decoded.ok ? decoded.problem : "");
  });
});
