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

  describe("refuses a role-arn that is not an IAM role ARN, even where a pattern would match it", () => {
    const permissive: EngineOptions = {
      ...defaultEngineOptions,
      rolePolicy: rolePolicyFrom({
        namespaces: { "team-a": ["arn:aws:iam::111122223333:role/team-a-*"], "*": ["arn:*:iam::*:role/*"] },
      }),
    };
    const longName = `team-a-${"n".repeat(58)}`;
    const cases: readonly [string, string, string, RegExp][] = [
      ["a literal *", "shop", "*", /"\*" is not an IAM role ARN/],
      [
        "an ARN whose name is a literal *",
        "team-a",
        "arn:aws:iam::111122223333:role/team-a-*",
        /"arn:aws:iam::111122223333:role\/team-a-\*" is not an IAM role ARN/,
      ],
      [
        "a 100 KB value",
        "team-a",
        `arn:aws:iam::111122223333:role/team-a-${"x".repeat(100_000)}`,
        /"arn:aws:iam::111122223333:role\/team-a-x+\.\.\." has a role name of 100007 characters; IAM allows at most 64/,
      ],
      [
        "a value with a newline and a second ARN",
        "team-a",
        "arn:aws:iam::111122223333:role/team-a-x\narn:aws:iam::999999999999:role/admin",
        /"arn:aws:iam::111122223333:role\/team-a-x\\narn:a\.\.\." is not an IAM role ARN/,
      ],
      [
        "a role name of 65 characters",
        "team-a",
        `arn:aws:iam::111122223333:role/${longName}`,
        /has a role name of 65 characters; IAM allows at most 64/,
      ],
    ];
    for (const [name, namespace, roleArn, identityWarning] of cases) {
      test(name, () => {
        const decision = decide(pod, serviceAccount(namespace, roleArn), permissive);
        assert.deepEqual([decision.patch, decision.reason], [[], "role-arn-invalid"]);
        assert.equal(decision.warnings.length, 2);
        assert.match(decision.warnings[0] ?? "", identityWarning);
        assert.equal(
          decision.warnings[1],
          "ServiceAccount app: the webhook's role policy admits only IAM role ARNs; pod admitted without AWS credentials",
        );
        // The API server may cut warnings over 256 characters; ours stay under, whatever the value.
        for (const warning of decision.warnings)
          assert.ok(warning.length <= 256, `${warning.length} characters`);
      });
    }

    const valid: readonly [string, string, string][] = [
      ["a role name of 64 characters", "team-a", `arn:aws:iam::111122223333:role/${longName.slice(0, 64)}`],
      ["the aws partition", "shop", "arn:aws:iam::123456789012:role/app"],
      ["the aws-cn partition", "shop", "arn:aws-cn:iam::123456789012:role/app"],
      ["the aws-us-gov partition", "shop", "arn:aws-us-gov:iam::123456789012:role/app"],
      ["a role path", "shop", "arn:aws:iam::123456789012:role/path/name"],
      ["a role path of several segments", "shop", "arn:aws:iam::123456789012:role/a/b/c/name"],
    ];
    for (const [name, namespace, roleArn] of valid) {
      test(`but injects ${name}`, () => {
        const decision = decide(pod, serviceAccount(namespace, roleArn), permissive);
        assert.deepEqual([decision.reason, decision.warnings], ["mutated", []]);
        assert.equal(decision.identity?.roleArn, roleArn);
      });
    }

    test("without a policy, still injects a value that is not an ARN, with the warning", () => {
      const decision = decide(pod, serviceAccount("shop", "*"), defaultEngineOptions);
      assert.equal(decision.reason, "mutated");
      assert.match(decision.warnings[0] ?? "", /"\*" is not an IAM role ARN/);
    });
  });

  test("describes the reason for logs", () => {
    assert.equal(
      describeReason("role-not-allowed"),
      "the role policy does not allow the ServiceAccount's role in its namespace",
    );
    assert.equal(
      describeReason("role-arn-invalid"),
      "the ServiceAccount's role-arn is not an IAM role ARN, which a role policy refuses",
    );
  });
});
