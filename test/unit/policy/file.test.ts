import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseRolePolicy, readRolePolicyFile } from "../../../src/policy/file.js";
import { isRoleAllowed, RolePolicyError } from "../../../src/policy/role-policy.js";

const example = `# Teams may use their own roles; everyone else the shared read-only one.
namespaces:
  team-a:
    - "arn:aws:iam::111122223333:role/team-a-*"
  "*":
    - arn:aws:iam::111122223333:role/read-only
`;

describe("role policy files", () => {
  test("reads the documented YAML format", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wiw-policy-"));
    try {
      await writeFile(join(dir, "policy.yaml"), example);
      const policy = await readRolePolicyFile(join(dir, "policy.yaml"));
      assert.deepEqual([...policy.namespaces.keys()], ["team-a", "*"]);
      assert.equal(isRoleAllowed(policy, "team-a", "arn:aws:iam::111122223333:role/team-a-x"), true);
      assert.equal(isRoleAllowed(policy, "team-b", "arn:aws:iam::111122223333:role/read-only"), true);
      assert.equal(isRoleAllowed(policy, "team-b", "arn:aws:iam::111122223333:role/team-a-x"), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("reads JSON too", () => {
    const policy = parseRolePolicy('{"namespaces":{"a":["arn:aws:iam::111122223333:role/x"]}}', "p");
    assert.equal(isRoleAllowed(policy, "a", "arn:aws:iam::111122223333:role/x"), true);
  });

  test("names the flag, the file and the bad entry", () => {
    assert.throws(
      () => parseRolePolicy('namespaces:\n  team-a: ["role/x"]\n', "--role-policy-file p.yaml"),
      new RolePolicyError(
        '--role-policy-file p.yaml: namespaces."team-a"[0]: "role/x" is not a role ARN pattern; write arn:<partition>:iam::<account>:role/<name>, with * and ? as wildcards',
      ),
    );
  });

  test("says when the text is not YAML", () => {
    assert.throws(() => parseRolePolicy("namespaces: [", "src"), /^RolePolicyError: src: not valid YAML: /);
  });

  test("says when the file cannot be read", async () => {
    await assert.rejects(
      readRolePolicyFile("/nonexistent/policy.yaml"),
      new RolePolicyError("--role-policy-file /nonexistent/policy.yaml: cannot read it (ENOENT)"),
    );
  });

  test("refuses an empty file, which is no policy at all", () => {
    assert.throws(
      () => parseRolePolicy("", "p"),
      new RolePolicyError("p: the policy is not a mapping with a `namespaces` key"),
    );
  });
});
