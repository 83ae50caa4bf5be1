import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBucket } from "../../../src/serviceaccounts/rate-limit.js";
import { FakeClock } from "./fake-clock.js";

/** How many of `tries` takes succeed now. */
function taken(bucket: TokenBucket, tries: number): number {
  let count = 0;
  for (let i = 0; i < tries; i++) if (bucket.take()) count++;
  return count;
}

describe("TokenBucket", () => {
  it("starts full: a burst passes, the next take is refused", () => {
    const bucket = new TokenBucket(new FakeClock(), { ratePerSecond: 20, burst: 40 });
    assert.equal(taken(bucket, 1000), 40);
  });

  it("refills at its rate, fractions of a token included", () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(clock, { ratePerSecond: 20, burst: 40 });
    taken(bucket, 40);
    clock.advance(49);
    assert.equal(bucket.take(), false, "0.98 of a token");
    clock.advance(1);
    assert.equal(bucket.take(), true);
    clock.advance(1000);
    assert.equal(taken(bucket, 1000), 20);
  });

  it("never holds more than its burst, however long it was idle", () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(clock, { ratePerSecond: 20, burst: 40 });
    clock.advance(3_600_000);
    assert.equal(taken(bucket, 1000), 40);
  });

  it("lets through at most burst + rate × seconds over any stretch", () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(clock, { ratePerSecond: 7, burst: 3 });
    let passed = 0;
    for (let ms = 0; ms < 10_000; ms += 13) {
      passed += taken(bucket, 5);
      clock.advance(13);
    }
    assert.ok(passed <= 3 + 7 * 10, `${passed} passed`);
    assert.ok(passed >= 7 * 10 - 1, `${passed} passed: the rate is not reached`);
  });
});
