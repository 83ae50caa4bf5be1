import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isRoleAllowed, RolePolicyError, rolePolicyFrom } from "../../../src/policy/role-policy.js";

const policy = rolePolicyFrom({
  namespaces: {
    "team-a": ["arn:aws:iam::111122223333:role/team-a-*", "arn:aws:iam::111122223333:role/shared"],
    "team-b": ["arn:aws:iam::444455556666:role/app-?"],
    locked: [],
    "*": ["arn:aws:iam::111122223333:role/default-*"],
  },
});
const noDefault = rolePolicyFrom({ namespaces: { "team-a": ["arn:aws:iam::*:role/*"] } });

describe("isRoleAllowed", () => {
  const cases: { name: string; policy?: typeof policy; namespace: string; role: string; allowed: boolean }[] =
    [
      {
        name: "allows a role matching its namespace's * pattern",
        namespace: "team-a",
        role: "arn:aws:iam::111122223333:role/team-a-reader",
        allowed: true,
      },
      {
        name: "allows a role equal to a pattern without wildcards",
        namespace: "team-a",
        role: "arn:aws:iam::111122223333:role/shared",
        allowed: true,
      },
      {
        name: "refuses a role that only starts like a pattern without wildcards",
        namespace: "team-a",
        role: "arn:aws:iam::111122223333:role/shared-admin",
        allowed: false,
      },
      {
        name: "lets * match a role path with slashes, as IAM wildcards do",
        namespace: "team-a",
        role: "arn:aws:iam::111122223333:role/team-a-x/y",
        allowed: true,
      },
      {
        name: "refuses another account's role with the same name",
        namespace: "team-a",
        role: "arn:aws:iam::999999999999:role/team-a-reader",
        allowed: false,
      },
      {
        name: "compares case-sensitively",
        namespace: "team-a",
        role: "arn:aws:iam::111122223333:role/TEAM-A-reader",
        allowed: false,
      },
      {
        name: "lets ? match exactly one character",
        namespace: "team-b",
        role: "arn:aws:iam::444455556666:role/app-1",
        allowed: true,
      },
      {
        name: "does not let ? match two characters",
        namespace: "team-b",
        role: "arn:aws:iam::444455556666:role/app-12",
        allowed: false,
      },
      {
        name: "uses a namespace's own entry instead of the * entry",
        namespace: "team-b",
        role: "arn:aws:iam::111122223333:role/default-x",
        allowed: false,
      },
      {
        name: "allows no role in a namespace whose entry is empty",
        namespace: "locked",
        role: "arn:aws:iam::111122223333:role/default-x",
        allowed: false,
      },
      {
        name: "uses the * entry for a namespace without one",
        namespace: "elsewhere",
        role: "arn:aws:iam::111122223333:role/default-x",
        allowed: true,
      },
      {
        name: "refuses outside the * entry for a namespace without one",
        namespace: "elsewhere",
        role: "arn:aws:iam::111122223333:role/team-a-reader",
        allowed: false,
      },
      {
        name: "refuses every role in a namespace with no entry when there is no * entry",
        policy: noDefault,
        namespace: "team-c",
        role: "arn:aws:iam::111122223333:role/anything",
        allowed: false,
      },
      {
        name: "treats regex characters in a pattern literally",
        policy: rolePolicyFrom({ namespaces: { a: ["arn:aws:iam::111122223333:role/a.b+c"] } }),
        namespace: "a",
        role: "arn:aws:iam::111122223333:role/aXbbc",
        allowed: false,
      },
      {
        name: "never lets * match across a newline into a second ARN",
        namespace: "team-a",
        role: "arn:aws:iam::111122223333:role/team-a-x\narn:aws:iam::999999999999:role/admin",
        allowed: false,
      },
      {
        name: "never lets * match a carriage return",
        namespace: "team-a",
        role: "arn:aws:iam::111122223333:role/team-a-x\r",
        allowed: false,
      },
      {
        name: "never lets ? match a newline",
        namespace: "team-b",
        role: "arn:aws:iam::444455556666:role/app-\n",
        allowed: false,
      },
    ];
  for (const { name, namespace, role, allowed, policy: given } of cases) {
    test(name, () => {
      assert.equal(isRoleAllowed(given ?? policy, namespace, role), allowed);
    });
  }
});

describe("rolePolicyFrom", () => {
  const refusals: { name: string; document: unknown; message: string }[] = [
    {
      name: "refuses a document that is not a mapping",
      document: ["arn:aws:iam::111122223333:role/x"],
      message: "the policy is not a mapping with a `namespaces` key",
    },
    {
      name: "refuses an unknown top-level key, such as a misspelt namespaces",
      document: { namespace: {} },
      message: 'unknown key "namespace"; the policy has only `namespaces`',
    },
    {
      name: "refuses namespaces that is a list",
      document: { namespaces: [] },
      message: '`namespaces` is not a mapping of namespace (or "*") to a list of role ARN patterns',
    },
    {
      name: "refuses a key that is not a namespace name",
      document: { namespaces: { Team_A: [] } },
      message: 'namespaces."Team_A": "Team_A" is not a namespace name or "*"',
    },
    {
      name: "refuses a single pattern written without a list",
      document: { namespaces: { "team-a": "arn:aws:iam::111122223333:role/x" } },
      message: 'namespaces."team-a": not a list of role ARN patterns (write [] to allow no role)',
    },
    {
      name: "refuses a null entry (a key written without a value)",
      document: { namespaces: { "team-a": null } },
      message: 'namespaces."team-a": not a list of role ARN patterns (write [] to allow no role)',
    },
    {
      name: "refuses a pattern that is not a string, naming its index",
      document: { namespaces: { "*": ["arn:aws:iam::111122223333:role/x", 42] } },
      message: 'namespaces."*"[1]: 42 is not a string',
    },
    {
      name: "refuses a bare role name",
      document: { namespaces: { "team-a": ["team-a-*"] } },
      message:
        'namespaces."team-a"[0]: "team-a-*" is not a role ARN pattern; write arn:<partition>:iam::<account>:role/<name>, with * and ? as wildcards',
    },
    {
      name: "refuses a pattern that would match any ARN, not only roles",
      document: { namespaces: { "team-a": ["*"] } },
      message:
        'namespaces."team-a"[0]: "*" is not a role ARN pattern; write arn:<partition>:iam::<account>:role/<name>, with * and ? as wildcards',
    },
    {
      name: "refuses a user ARN",
      document: { namespaces: { "team-a": ["arn:aws:iam::111122223333:user/x"] } },
      message:
        'namespaces."team-a"[0]: "arn:aws:iam::111122223333:user/x" is not a role ARN pattern; write arn:<partition>:iam::<account>:role/<name>, with * and ? as wildcards',
    },
  ];
  for (const { name, document, message } of refusals) {
    test(name, () => {
      assert.throws(() => rolePolicyFrom(document), new RolePolicyError(message));
    });
  }

  test("accepts wildcards in the partition, account and name", () => {
    const any = rolePolicyFrom({ namespaces: { "*": ["arn:aws*:iam::*:role/*"] } });
    assert.equal(isRoleAllowed(any, "x", "arn:aws-cn:iam::111122223333:role/a/b"), true);
    assert.equal(isRoleAllowed(any, "x", "arn:aws:sts::111122223333:assumed-role/a"), false);
  });

  test("accepts an empty namespaces mapping, which allows no role anywhere", () => {
    const empty = rolePolicyFrom({ namespaces: {} });
    assert.equal(isRoleAllowed(empty, "default", "arn:aws:iam::111122223333:role/x"), false);
  });
});
