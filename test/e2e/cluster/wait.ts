// Polls a readiness probe until it passes, the watched process dies, or time runs out.
import { setTimeout as sleep } from "node:timers/promises";
import { logTail, type ManagedProcess } from "./process.js";

export interface WaitOptions {
  /** What is awaited, for the error message: "etcd /health". */
  what: string;
  process: ManagedProcess;
  timeoutMs: number;
  intervalMs?: number;
}

/**
 * Resolves once probe() returns true; otherwise stops the process (a half-started server is of no use to the
 * caller) and rejects with its log tail.
 */
export async function waitUntilReady(probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  try {
    await pollUntilReady(probe, options);
  } catch (error) {
    await options.process.stop();
    throw error;
  }
}

async function pollUntilReady(probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (!options.process.isRunning()) {
      const code = await options.process.exited;
      throw new Error(
        `${options.process.name} exited (${code}) before ${options.what} was ready; last log lines of ${options.process.logPath}:\n${await logTail(options.process.logPath)}`,
      );
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(options.intervalMs ?? 250);
  }
  throw new Error(
    `${options.what} was not ready after ${options.timeoutMs} ms (last probe error: ${lastError || "none"}); last log lines of ${options.process.logPath}:\n${await logTail(options.process.logPath)}`,
  );
}
