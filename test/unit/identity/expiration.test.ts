import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTokenExpiration } from "../../../src/identity/expiration.js";

const source = "pod annotation eks.amazonaws.com/token-expiration";
const cases: readonly [string, string, number, string | undefined][] = [
  ["uses a value inside 600..86400 as written", "3600", 3600, undefined],
  ["accepts the lower bound", "600", 600, undefined],
  ["accepts the upper bound", "86400", 86400, undefined],
  ["accepts a leading plus, as Go's ParseInt does", "+3600", 3600, undefined],
  [
    "raises 0 to 600, as the reference does",
    "0",
    600,
    `${source} "0" is outside 600..86400 seconds; using 600`,
  ],
  ["raises a negative value to 600", "-5", 600, `${source} "-5" is outside 600..86400 seconds; using 600`],
  [
    "lowers a value above a day to 86400",
    "172800",
    86400,
    `${source} "172800" is outside 600..86400 seconds; using 86400`,
  ],
  [
    "ignores a duration with a unit",
    "1h",
    7200,
    `${source} "1h" is not a whole number of seconds (600..86400); using 7200`,
  ],
  [
    "ignores a fraction",
    "3600.5",
    7200,
    `${source} "3600.5" is not a whole number of seconds (600..86400); using 7200`,
  ],
  [
    "ignores an empty value",
    "",
    7200,
    `${source} "" is not a whole number of seconds (600..86400); using 7200`,
  ],
];

for (const [name, value, seconds, warning] of cases) {
  test(name, () => {
    assert.deepEqual(parseTokenExpiration(value, 7200, source), { seconds, warning });
  });
}
