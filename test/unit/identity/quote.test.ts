import assert from "node:assert/strict";
import { test } from "node:test";
import { quoted } from "../../../src/identity/quote.js";

test("quotes a value as a JSON string", () => {
  assert.equal(quoted('a "b"'), '"a \\"b\\""');
});

test("keeps a value with a newline on one line", () => {
  assert.equal(quoted("a\nb"), '"a\\nb"');
});

test('cuts a long value to 48 characters ending in an ASCII "..."', () => {
  assert.equal(quoted("x".repeat(100)), `"${"x".repeat(45)}..."`);
});
