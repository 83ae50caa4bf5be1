// Creates many pods through the API server with a few requests in flight at once, and records each answer.
import type { ApiResponse } from "../support/api-request.js";

export interface Creation {
  name: string;
  /** How many creations had settled when this one was sent. */
  sentAfter: number;
  /** Its place in the order of answers, from 1. */
  settledAs: number;
  response: ApiResponse;
}

export interface BurstOptions {
  names: readonly string[];
  concurrency: number;
  create(name: string): Promise<ApiResponse>;
  /**
   * Called each time a creation settles, with how many have settled so far. While a promise it returns is
   * pending no creation is sent, but those in flight go on.
   */
  onSettled?(settled: number): Promise<void> | undefined;
}

/** Sends every creation, at most `concurrency` at a time, and returns them in the order of `names`. */
export async function createInBurst(options: BurstOptions): Promise<Creation[]> {
  const creations: Creation[] = [];
  let next = 0;
  let settled = 0;
  let hold: Promise<void> = Promise.resolve();
  const worker = async (): Promise<void> => {
    for (;;) {
      await hold;
      const index = next++;
      const name = options.names[index];
      if (name === undefined) return;
      const sentAfter = settled;
      const response = await options.create(name);
      settled += 1;
      creations[index] = { name, sentAfter, settledAs: settled, response };
      const pending = options.onSettled?.(settled);
      if (pending !== undefined) hold = pending;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return creations;
}
