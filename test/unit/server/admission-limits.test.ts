import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createAdmissionLimits } from "../../../src/server/admission-limits.js";

const mib = 1024 * 1024;
const limits = () =>
  createAdmissionLimits({ maxReviewsInFlight: 3, maxBytesInFlight: 4 * mib, maxBodyBytes: 2 * mib });

describe("admission limits", () => {
  test("let reviews in until the byte cap, then name it, and free the bytes on release", () => {
    const gate = limits();
    const first = gate.admit(2 * mib);
    const second = gate.admit(2 * mib);
    assert.equal(first.admitted && second.admitted, true);
    assert.deepEqual(gate.admit(1), { admitted: false, limit: "bytes-in-flight" });
    assert.equal(gate.bytesInFlight(), 4 * mib);
    if (first.admitted) first.release();
    assert.equal(gate.bytesInFlight(), 2 * mib);
    assert.equal(gate.admit(mib).admitted, true);
  });

  test("refuse past the review cap whatever the size", () => {
    const gate = limits();
    for (let n = 0; n < 3; n++) assert.equal(gate.admit(10).admitted, true);
    assert.deepEqual(gate.admit(0), { admitted: false, limit: "reviews-in-flight" });
    assert.equal(gate.reviewsInFlight(), 3);
  });

  test("charge a chunked body (no Content-Length) the whole body limit", () => {
    const gate = limits();
    assert.equal(gate.admit(undefined).admitted, true);
    assert.equal(gate.bytesInFlight(), 2 * mib);
  });

  test("let one body larger than the byte cap in when nothing else is in flight", () => {
    const gate = createAdmissionLimits({
      maxReviewsInFlight: 10,
      maxBytesInFlight: mib,
      maxBodyBytes: 2 * mib,
    });
    const alone = gate.admit(2 * mib);
    assert.equal(alone.admitted, true);
    assert.deepEqual(gate.admit(10), { admitted: false, limit: "bytes-in-flight" });
  });

  test("give a share back once, however often release is called", () => {
    const gate = limits();
    const ticket = gate.admit(mib);
    gate.admit(mib);
    if (!ticket.admitted) assert.fail("the first review was refused");
    ticket.release();
    ticket.release();
    assert.equal(gate.reviewsInFlight(), 1);
    assert.equal(gate.bytesInFlight(), mib);
  });
});
