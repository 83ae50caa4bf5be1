// A CliIo whose stdout and stderr are kept in memory, for asserting what a command printed.

import { Writable } from "node:stream";
import type { CliIo } from "../../../src/cli/io.js";

export interface CapturedIo {
  readonly io: CliIo;
  stdout(): string;
  stderr(): string;
}

export function captureIo(env: NodeJS.ProcessEnv = {}): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        into.push(chunk.toString());
        done();
      },
    });
  return {
    io: { stdout: sink(out), stderr: sink(err), env },
    stdout: () => out.join(""),
    stderr: () => err.join(""),
  };
}
