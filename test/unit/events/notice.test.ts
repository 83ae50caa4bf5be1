import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventNotice, noteLimitBytes } from "../../../src/events/notice.js";
import type { Pod } from "../../../src/mutation/pod.js";

const replicaSet = {
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  name: "app-7d4b9",
  uid: "6f1c",
  controller: true,
};
const serviceAccount = { apiVersion: "v1", kind: "ServiceAccount", namespace: "shop", name: "app" };

function podOwnedBy(...ownerReferences: NonNullable<NonNullable<Pod["metadata"]>["ownerReferences"]>): Pod {
  return { metadata: { generateName: "app-7d4b9-", ownerReferences }, spec: { serviceAccountName: "app" } };
}

describe("eventNotice", () => {
  it("is about the pod's controller, with its uid, and relates the ServiceAccount", () => {
    assert.deepEqual(eventNotice(podOwnedBy(replicaSet), "shop", "app", "role-arn-invalid", ["a", "b"]), {
      regarding: {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        namespace: "shop",
        name: "app-7d4b9",
        uid: "6f1c",
      },
      related: serviceAccount,
      reason: "RoleArnInvalid",
      note: "a | b",
    });
  });

  it("is about the ServiceAccount when no owner is the pod's controller", () => {
    const notController = { ...replicaSet, controller: false };
    for (const pod of [podOwnedBy(), podOwnedBy(notController), { metadata: { name: "app" } }]) {
      assert.deepEqual(eventNotice(pod, "shop", "app", "lookup-failed", ["w"]), {
        regarding: serviceAccount,
        reason: "LookupFailed",
        note: "w",
      });
    }
  });

  it("cuts a note over 1 KiB at a character boundary and marks the cut", () => {
    const note = eventNotice(podOwnedBy(), "shop", "app", "no-role-arn", ["é".repeat(600)]).note;
    assert.equal(new TextEncoder().encode(note).length, noteLimitBytes - 1);
    assert.equal(note, `${"é".repeat(510)}…`);
    const short = "x".repeat(noteLimitBytes);
    assert.equal(eventNotice(podOwnedBy(), "shop", "app", "no-role-arn", [short]).note, short);
  });
});
