// The role policy inside the engine: a role outside the namespace's patterns is not injected, with a warning.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decide, describeReason } from "../../../src/mutation/decide.js";
import { defaultEngineOptions, type EngineOptions } from "../../../src/mutation/options.js";
import type { Pod, ServiceAccountRecord } from "../../../src/mutation/pod.js";
import { rolePolicyFrom } from "../../../src/policy/role-policy.js";

const options: EngineOptions = {
  ...defaultEngineOptions,
  rolePolicy: rolePolicyFrom({
    namespaces: { "team-a": ["arn:aws:iam::111122223333:role/team-a-*"], "*": [] },
  }),
};
const pod: Pod = { spec: { serviceAccountName: "app", containers: [{ name: "app" }] } };

function serviceAccount(namespace: string, roleArn: string): ServiceAccountRecord {
  return { namespace, name: "app", annotations: { "eks.amazonaws.com/role-arn": roleArn } };
}

describe("decide with a role policy", () => {
  test("injects a role the namespace's patterns allow", () => {
    const decision = decide(
      pod,
      serviceAccount("team-a", "arn:aws:iam::111122223333:role/team-a-reader"),
      options,
    );
    assert.equal(decision.reason, "mutated");
    assert.deepEqual(decision.warnings, []);
  });

  test("admits the pod unchanged, with a warning, when the role is outside the namespace's patterns", () => {
    const decision = decide(pod, serviceAccount("team-a", "arn:aws:iam::111122223333:role/admin"), options);
    assert.deepEqual(decision, {
      patch: [],
      warnings: [
        'ServiceAccount app: role "arn:aws:iam::111122223333:role/admin" is not allowed in namespace "team-a" by the webhook\'s role policy; pod admitted without AWS credentials',
      ],
      reason: "role-not-allowed",
    });
  });

  test("judges by the ServiceAccount's namespace, not by where the role would be allowed", () => {
    const decision = decide(
      pod,
      serviceAccount("team-b", "arn:aws:iam::111122223333:role/team-a-reader"),
      options,
    );
    assert.equal(decision.reason, "role-not-allowed");
  });

  test("keeps the other warnings before the policy's", () => {
    const decision = decide(
      { ...pod, metadata: { annotations: { "eks.amazonaws.com/role-arn": "x" } } },
      serviceAccount("team-b", "arn:aws:iam::111122223333:role/x"),
      options,
    );
    assert.equal(decision.warnings.length, 2);
    assert.match(decision.warnings[0] ?? "", /pod annotation "eks.amazonaws.com\/role-arn" is ignored/);
    assert.match(decision.warnings[1] ?? "", /is not allowed in namespace "team-b"/);
  });

  test("without a policy, any role is injected", () => {
    const decision = decide(
      pod,
      serviceAccount("team-b", "arn:aws:iam::111122223333:role/x"),
      defaultEngineOptions,
    );
    assert.equal(decision.reason, "mutated");
  });

  test("describes the reason for logs", () => {
    assert.equal(
      describeReason("role-not-allowed"),
      "the role policy does not allow the ServiceAccount's role in its namespace",
    );
  });
});
