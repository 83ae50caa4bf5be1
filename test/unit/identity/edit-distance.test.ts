import assert from "node:assert/strict";
import { test } from "node:test";
import { isWithinEditDistance } from "../../../src/identity/edit-distance.js";

const cases: readonly [string, string, number, boolean][] = [
  ["rolearn", "rolearn", 0, true],
  ["rolearm", "rolearn", 1, true],
  ["rolarn", "rolearn", 1, true],
  ["roelarn", "rolearn", 1, true],
  ["roelarm", "rolearn", 1, false],
  ["eks.amazon.com", "eks.amazonaws.com", 3, true],
  ["eks.amazon.com", "eks.amazonaws.com", 2, false],
  ["", "abc", 3, true],
  ["", "abc", 2, false],
  ["abcdef", "badcfe", 3, true],
  ["abcdef", "badcfe", 2, false],
];

for (const [a, b, max, expected] of cases) {
  test(`${JSON.stringify(a)} is ${expected ? "within" : "beyond"} ${max} edits of ${JSON.stringify(b)}`, () => {
    assert.equal(isWithinEditDistance(a, b, max), expected);
    assert.equal(isWithinEditDistance(b, a, max), expected);
  });
}
