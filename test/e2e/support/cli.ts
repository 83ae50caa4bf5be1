// Runs the built CLI (`node dist/cli/main.js ...`) as a user would, capturing its output and exit code.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const mainScript = fileURLToPath(new URL("../../../dist/cli/main.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `node dist/cli/main.js ...args`, killed after timeoutMs; never rejects on a non-zero exit. `env` is added
 * to this process's environment (e.g. HTTPS_PROXY).
 */
export function runCli(
  args: readonly string[],
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [mainScript, ...args],
      { timeout: timeoutMs, killSignal: "SIGKILL", env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : error.code;
        if (typeof code !== "number") {
          reject(new Error(`${args.join(" ")}: ${error?.message}\n${stderr}`));
          return;
        }
        resolve({ code, stdout, stderr });
      },
    );
  });
}
