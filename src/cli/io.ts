// The streams and environment a subcommand runs with, passed in so tests can capture them.

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

/** Exit codes every subcommand uses. */
export const exitCode = { ok: 0, failed: 1, usage: 2 } as const;
