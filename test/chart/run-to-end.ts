// Runs a program to its end and keeps what it said and how it exited, a failing exit included.

import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `file` with `args` and exactly `env`; rejects only when it cannot start or outlives `timeoutMs`. */
export async function runToEnd(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<Finished> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await run(file, [...args], { env, timeout: timeoutMs, killSignal: "SIGKILL" });
    return { code: 0, stdout, stderr, ms: Date.now() - started };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string; killed?: boolean };
    if (typeof failed.code !== "number" || failed.killed === true) throw error;
    return {
      code: failed.code,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
      ms: Date.now() - started,
    };
  }
}
