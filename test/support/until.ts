// Polls a condition until it holds, failing the test with what was awaited once time runs out.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

export interface UntilOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 5000, intervalMs = 20 }: UntilOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(intervalMs);
  }
}
