import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readPod } from "../../../src/admission/pod.js";
import { reviewJson } from "./fixtures.js";

const container = { name: "app", image: "app:1" };

describe("readPod", () => {
  test("accepts the pod of a real review as it is", () => {
    const object = reviewJson("pod-create-v1").request.object;
    assert.deepEqual(readPod(object), { ok: true, pod: object });
  });

  test("accepts a pod without metadata or spec, and null lists", () => {
    assert.equal(readPod({}).ok, true);
    assert.equal(readPod({ metadata: null, spec: { containers: null, volumes: null } }).ok, true);
  });

  const bad: ReadonlyArray<readonly [string, unknown, string]> = [
    ["a list", [], "request.object is not a Pod object"],
    ["missing", undefined, "request.object is not a Pod object"],
    ["string metadata", { metadata: "x" }, "request.object metadata is not an object"],
    [
      "numeric annotation values",
      { metadata: { annotations: { "eks.amazonaws.com/role-arn": 1 } } },
      "request.object metadata.annotations is not a map of strings",
    ],
    [
      "a numeric serviceAccountName",
      { spec: { serviceAccountName: 1, containers: [container] } },
      "request.object spec.serviceAccountName is not a string",
    ],
    [
      "containers that are not a list",
      { spec: { containers: { app: container } } },
      "request.object spec.containers is not a list of containers with names",
    ],
    [
      "a container without a name",
      { spec: { containers: [{ image: "app:1" }] } },
      "request.object spec.containers is not a list of containers with names",
    ],
    [
      "env that is a map",
      { spec: { initContainers: [{ ...container, env: { A: "1" } }] } },
      "request.object spec.initContainers[0].env is not a list of named variables",
    ],
    [
      "a mount without mountPath",
      { spec: { containers: [container, { ...container, volumeMounts: [{ name: "data" }] }] } },
      "request.object spec.containers[1].volumeMounts is not a list of mounts with name and mountPath",
    ],
    [
      "volumes without names",
      { spec: { volumes: [{ emptyDir: {} }], containers: [container] } },
      "request.object spec.volumes is not a list of volumes with names",
    ],
    [
      "a nodeSelector of numbers",
      { spec: { nodeSelector: { "kubernetes.io/os": 1 }, containers: [container] } },
      "request.object spec.nodeSelector is not a map of strings",
    ],
  ];
  for (const [name, object, problem] of bad) {
    test(`rejects ${name}`, () => {
      assert.deepEqual(readPod(object), { ok: false, problem });
    });
  }
});
