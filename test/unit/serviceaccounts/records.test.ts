import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelay } from "../../../src/serviceaccounts/backoff.js";
import { keptAnnotations, noAnnotations, ServiceAccountIndex } from "../../../src/serviceaccounts/records.js";

const keep = (key: string) => key.startsWith("eks.amazonaws.com/");

describe("keptAnnotations", () => {
  it("keeps the string values of the keys the filter accepts, frozen", () => {
    const kept = keptAnnotations(
      { "eks.amazonaws.com/role-arn": "arn", "eks.amazonaws.com/bad": 3, "helm.sh/chart": "x" },
      keep,
    );
    assert.deepEqual(kept, { "eks.amazonaws.com/role-arn": "arn" });
    assert.ok(Object.isFrozen(kept));
  });

  it("answers the one shared empty object when nothing is kept", () => {
    assert.equal(keptAnnotations({ "helm.sh/chart": "x" }, keep), noAnnotations);
    assert.equal(keptAnnotations(undefined, keep), noAnnotations);
  });
});

describe("ServiceAccountIndex", () => {
  it("counts a replaced ServiceAccount once and forgets a deleted one", () => {
    const index = new ServiceAccountIndex();
    index.put("a", "one", noAnnotations);
    index.put("a", "one", { "eks.amazonaws.com/role-arn": "arn" });
    index.put("b", "one", noAnnotations);
    assert.equal(index.size, 2);
    assert.deepEqual(index.get("a", "one")?.annotations, { "eks.amazonaws.com/role-arn": "arn" });
    index.delete("a", "one");
    index.delete("a", "one");
    index.delete("c", "none");
    assert.equal(index.size, 1);
    assert.equal(index.get("a", "one"), undefined);
    assert.deepEqual(index.get("b", "one"), { namespace: "b", name: "one", annotations: {} });
  });
});

describe("backoffDelay", () => {
  const policy = { baseMs: 1000, maxMs: 8000 };
  const cases = [
    { failures: 1, random: 0, delay: 500 },
    { failures: 1, random: 0.999, delay: 1000 },
    { failures: 2, random: 0, delay: 1000 },
    { failures: 3, random: 0.5, delay: 3000 },
    { failures: 4, random: 0, delay: 4000 },
    { failures: 10, random: 0, delay: 4000 },
    { failures: 10, random: 0.5, delay: 6000 },
  ];
  for (const { failures, random, delay } of cases) {
    it(`waits ${delay}ms after ${failures} failure(s) when random() is ${random}`, () => {
      assert.equal(
        backoffDelay(failures, policy, () => random),
        delay,
      );
    });
  }
});
