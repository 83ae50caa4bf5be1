import assert from "node:assert/strict";
import { test } from "node:test";
import { escapePointerSegment, jsonPointer } from "../../../src/mutation/json-pointer.js";

const cases: readonly [string, string][] = [
  ["env", "env"],
  ["a/b", "a~1b"],
  ["a~b", "a~0b"],
  ["~1", "~01"],
  ["eks.amazonaws.com/role-arn", "eks.amazonaws.com~1role-arn"],
];

for (const [segment, escaped] of cases) {
  test(`escapes ${JSON.stringify(segment)} as ${JSON.stringify(escaped)}`, () => {
    assert.equal(escapePointerSegment(segment), escaped);
  });
}

test("joins segments into a pointer, escaping strings and writing indexes as is", () => {
  assert.equal(jsonPointer("spec", "containers", 3, "env"), "/spec/containers/3/env");
  assert.equal(
    jsonPointer("metadata", "annotations", "example.com/a~b"),
    "/metadata/annotations/example.com~1a~0b",
  );
});

test("builds the empty pointer from no segments", () => {
  assert.equal(jsonPointer(), "");
});
