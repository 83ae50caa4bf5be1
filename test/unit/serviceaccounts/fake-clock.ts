// A Clock whose time moves only when a test advances it; sleeps resolve as it passes their end.

import type { Clock } from "../../../src/serviceaccounts/clock.js";

interface Sleep {
  readonly ms: number;
  readonly at: number;
  readonly resolve: () => void;
}

export class FakeClock implements Clock {
  #now = 0;
  #sleeps: Sleep[] = [];

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const sleep: Sleep = { ms, at: this.#now + ms, resolve };
      this.#sleeps.push(sleep);
      signal?.addEventListener(
        "abort",
        () => {
          this.#sleeps = this.#sleeps.filter((other) => other !== sleep);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** The durations of the sleeps not yet over, in the order they were asked for. */
  pending(): number[] {
    return this.#sleeps.map((sleep) => sleep.ms);
  }

  advance(ms: number): void {
    this.#now += ms;
    const over = this.#sleeps.filter((sleep) => sleep.at <= this.#now);
    this.#sleeps = this.#sleeps.filter((sleep) => sleep.at > this.#now);
    for (const sleep of over) sleep.resolve();
  }
}

/** Lets pending promise callbacks and I/O run until `condition` holds (for at most two real seconds). */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const giveUpAt = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
