import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSkipContainers } from "../../../src/identity/skip-containers.js";

const cases: readonly [string, string, readonly string[]][] = [
  ["reads one name", "sidecar", ["sidecar"]],
  ["reads a comma-separated list", "a,b", ["a", "b"]],
  ["trims spaces around names", " a , b ", ["a", "b"]],
  ["drops empty entries", "a,,b,", ["a", "b"]],
  ["lists a repeated name once", "a,a", ["a"]],
  ["reads nothing from a blank value", "  ", []],
];

for (const [name, value, expected] of cases) {
  test(name, () => {
    assert.deepEqual(parseSkipContainers(value), expected);
  });
}
