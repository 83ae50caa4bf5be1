// A pino logger whose JSON lines the test can read back.

import { Writable } from "node:stream";
import { type Logger, pino } from "pino";

export interface CapturedLog {
  readonly logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Array<Record<string, unknown>>;
}

export function captureLog(level = "info"): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line !== "") lines.push(JSON.parse(line));
      }
      callback();
    },
  });
  return { logger: pino({ level }, stream), lines: () => lines };
}
