// A token bucket: how many live GETs may start now, refilled at a steady rate, so misses cannot flood the API server.

import type { Clock } from "./clock.js";

export interface TokenBucketOptions {
  /** Tokens added per second (`--lookup-rate`). */
  readonly ratePerSecond: number;
  /** Most tokens held, and the bucket's content at the start. */
  readonly burst: number;
}

/** Refilled lazily from the clock on each take, so it needs no timer. */
export class TokenBucket {
  readonly #clock: Clock;
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #ratePerMs: number;
  #tokens: number;
  #refilledAt: number;

  constructor(clock: Clock, options: TokenBucketOptions) {
    this.#clock = clock;
    this.ratePerSecond = options.ratePerSecond;
    this.burst = options.burst;
    this.#ratePerMs = options.ratePerSecond / 1000;
    this.#tokens = options.burst;
    this.#refilledAt = clock.now();
  }

  /** Takes one token if there is one; false means over the rate. */
  take(): boolean {
    const now = this.#clock.now();
    if (now > this.#refilledAt) {
      this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#refilledAt) * this.#ratePerMs);
      this.#refilledAt = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}
