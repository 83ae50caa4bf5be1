import assert from "node:assert/strict";
import { test } from "node:test";
import { isIamRoleArn, roleArnProblem } from "../../../src/identity/role-arn.js";

const cases: readonly [string, boolean][] = [
  ["arn:aws:iam::111122223333:role/s3-reader", true],
  ["arn:aws-cn:iam::111122223333:role/s3-reader", true],
  ["arn:aws-us-gov:iam::111122223333:role/s3-reader", true],
  ["arn:aws-iso:iam::111122223333:role/s3-reader", true],
  ["arn:aws-iso-b:iam::111122223333:role/s3-reader", true],
  ["arn:aws:iam::111122223333:role/team/app/Reader+=,.@_-1", true],
  ["s3-reader", false],
  ["arn:aws:iam::11112222333:role/s3-reader", false],
  ["arn:aws:iam::111122223333:user/s3-reader", false],
  ["arn:aws:iam::111122223333:role/", false],
  ["arn:aws:sts::111122223333:assumed-role/s3-reader/session", false],
  ["arn:azure:iam::111122223333:role/s3-reader", false],
  ["arn:aws:iam::111122223333:role/s3 reader", false],
  ["arn:aws:iam::111122223333:role/s3-reader\n", false],
  ["arn:aws:iam::111122223333:role/a\narn:aws:iam::111122223333:role/b", false],
  ["*", false],
  ["arn:aws:iam::111122223333:role/*", false],
  ["arn:awsx:iam::111122223333:role/s3-reader", false],
  ["arn:aws:iam::111122223333:role//s3-reader", false],
  [`arn:aws:iam::111122223333:role/${"r".repeat(64)}`, true],
  [`arn:aws:iam::111122223333:role/${"r".repeat(65)}`, false],
  [`arn:aws:iam::111122223333:role/${"p".repeat(510)}/r`, true],
  [`arn:aws:iam::111122223333:role/${"p".repeat(511)}/r`, false],
  ["arn:aws:iam::111122223333:role/with!odd~path/r", true],
];

for (const [value, expected] of cases) {
  test(`${expected ? "accepts" : "rejects"} ${JSON.stringify(value)} as an IAM role ARN`, () => {
    assert.equal(isIamRoleArn(value), expected);
  });
}

test("says why a value is not a role ARN", () => {
  assert.equal(roleArnProblem("app-reader"), "is not an IAM role ARN");
  assert.equal(
    roleArnProblem(`arn:aws:iam::111122223333:role/${"r".repeat(65)}`),
    "has a role name of 65 characters; IAM allows at most 64",
  );
  assert.equal(
    roleArnProblem(`arn:aws:iam::111122223333:role/${"p".repeat(511)}/r`),
    "has a role path of 513 characters; IAM allows at most 512",
  );
  assert.equal(roleArnProblem("arn:aws:iam::111122223333:role/path/name"), undefined);
});

test("judges a 100 KB value in well under a millisecond per KB", () => {
  const value = `arn:aws:iam::111122223333:role/${"a/".repeat(50_000)}!`;
  const started = performance.now();
  assert.equal(isIamRoleArn(value), false);
  assert.ok(performance.now() - started < 100, `${performance.now() - started} ms`);
});
