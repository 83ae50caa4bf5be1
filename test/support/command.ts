// Runs a command of the test harnesses (ctr, kubectl, buildah, helm, bash scripts) to completion and captures its output.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { withoutProxies } from "../e2e/cluster/process.js";

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** A command that exited non-zero (or was killed), with what it printed. */
export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly command: readonly string[],
    readonly exit: number | string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${command.join(" ")} exited ${exit}: ${(stderr.trim() || stdout.trim()).slice(-4_000)}`);
  }
}

export interface CommandOptions {
  /** Written to stdin, then closed. */
  input?: string;
  /** Replaces the environment (proxy variables are always dropped: nothing here may reach a proxy). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** The repository's root, for scripts/ and charts/. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Runs command with args; resolves with its output on exit 0, rejects with a CommandError otherwise. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const { timeoutMs = 120_000 } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: withoutProxies(options.env ?? process.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${error.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new CommandError([command, ...args], code ?? signal ?? "unknown", stdout, stderr));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input);
  });
}

/** Runs a buildah, podman or skopeo command on the project's container storage (scripts/containers-env.sh). */
export function runContainersTool(
  tool: "buildah" | "podman" | "skopeo",
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const envScript = `${repoRoot}scripts/containers-env.sh`;
  return runCommand("bash", ["-c", `source "${envScript}" && exec "$@"`, "containers-env", tool, ...args], {
    timeoutMs: 300_000,
    ...options,
  });
}
