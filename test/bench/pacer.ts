// Wakes the open loop at each scheduled send time, to within tens of microseconds, without spinning.

import { Worker } from "node:worker_threads";

/**
 * Node timers have 1 ms resolution (a 0.3 ms timeout fires 1 to 2 ms later), and an open loop's latency counts
 * from the scheduled time, so a timer-paced generator charges its own lateness to the server: at 2,000/s that was
 * about 1.1 ms at p99. This worker thread sleeps in Atomics.wait (a futex, microsecond timeouts) until each
 * scheduled time and then posts a message, which wakes the generator's event loop at once.
 */
const pacerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const { firstEpochMs, intervalMs, count } = workerData;
const cell = new Int32Array(new SharedArrayBuffer(4));
for (let i = 0; i < count; i++) {
  const wait = firstEpochMs + i * intervalMs - (performance.timeOrigin + performance.now());
  if (wait > 0.01) Atomics.wait(cell, 0, 0, wait);
  parentPort.postMessage(i);
}
`;

export interface Pacer {
  stop(): Promise<void>;
}

/** Calls `wake` at `first` (performance.now() of this thread) and every `intervalMs` after, `count` times. */
export function startPacer(first: number, intervalMs: number, count: number, wake: () => void): Pacer {
  const worker = new Worker(pacerSource, {
    eval: true,
    workerData: { firstEpochMs: performance.timeOrigin + first, intervalMs, count },
  });
  worker.on("message", wake);
  worker.on("error", (error: Error) => {
    process.stderr.write(`load.ts: the pacer failed: ${error.message}\n`);
    process.exit(1);
  });
  return {
    async stop() {
      await worker.terminate();
    },
  };
}
