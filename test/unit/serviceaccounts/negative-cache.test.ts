import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AbsentServiceAccounts } from "../../../src/serviceaccounts/negative-cache.js";
import { FakeClock } from "./fake-clock.js";

function absent(ttlMs: number, maxEntries: number) {
  const clock = new FakeClock();
  return { clock, names: new AbsentServiceAccounts(clock, { ttlMs, maxEntries }) };
}

describe("AbsentServiceAccounts", () => {
  it("believes a 404 until its TTL is over, then forgets it", () => {
    const { clock, names } = absent(5000, 10);
    names.record("a", "missing");
    clock.advance(4999);
    assert.equal(names.has("a", "missing"), true);
    assert.equal(names.has("a", "other"), false);
    assert.equal(names.has("b", "missing"), false);
    clock.advance(1);
    assert.equal(names.has("a", "missing"), false);
    assert.equal(names.size, 0);
  });

  it("forgets a name at once when told it exists", () => {
    const { names } = absent(5000, 10);
    names.record("a", "app");
    names.forget("a", "app");
    assert.equal(names.has("a", "app"), false);
    assert.equal(names.size, 0);
  });

  it("holds at most maxEntries names, evicting the oldest, however many are recorded", () => {
    const { clock, names } = absent(60_000, 100);
    for (let i = 0; i < 5000; i++) {
      names.record("a", `random-${i}`);
      clock.advance(1);
    }
    assert.equal(names.size, 100);
    assert.equal(names.has("a", "random-4899"), false);
    assert.equal(names.has("a", "random-4900"), true);
    assert.equal(names.has("a", "random-4999"), true);
  });

  it("counts a re-recorded name as new, so it is evicted last", () => {
    const { names } = absent(60_000, 2);
    names.record("a", "one");
    names.record("a", "two");
    names.record("a", "one");
    names.record("a", "three");
    assert.deepEqual(
      ["one", "two", "three"].map((name) => names.has("a", name)),
      [true, false, true],
    );
  });

  it("drops expired names as new ones come, so a quiet spell leaves nothing behind", () => {
    const { clock, names } = absent(1000, 100);
    for (let i = 0; i < 50; i++) names.record("a", `old-${i}`);
    clock.advance(1000);
    names.record("a", "new");
    assert.equal(names.size, 1);
  });

  it("remembers nothing with a TTL of 0", () => {
    const { names } = absent(0, 100);
    names.record("a", "missing");
    assert.equal(names.has("a", "missing"), false);
    assert.equal(names.size, 0);
  });
});
