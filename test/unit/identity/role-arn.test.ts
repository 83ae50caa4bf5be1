import assert from "node:assert/strict";
import { test } from "node:test";
import { isIamRoleArn } from "../../../src/identity/role-arn.js";

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
];

for (const [value, expected] of cases) {
  test(`${expected ? "accepts" : "rejects"} ${JSON.stringify(value)} as an IAM role ARN`, () => {
    assert.equal(isIamRoleArn(value), expected);
  });
}
