// Polls for a state the API server reaches asynchronously, such as a webhook configuration taking effect.
import { setTimeout as sleep } from "node:timers/promises";

/** Resolves with the first value of attempt() that check() accepts; rejects naming `what` and the last value. */
export async function eventually<T>(
  what: string,
  attempt: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string = "no attempt finished";
  for (;;) {
    try {
      const value = await attempt();
      if (check(value)) return value;
      last = JSON.stringify(value).slice(0, 2_000);
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) throw new Error(`${what}: not reached after ${timeoutMs} ms; last: ${last}`);
    await sleep(100);
  }
}
