// Runs one control-plane binary as a child process that logs to a file and never outlives the test process.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** A started child process; stop() ends it and waits until it has been reaped. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
  stop(graceMs?: number): Promise<void>;
}

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  logPath: string;
}

// setpriv asks the kernel to SIGKILL the child when this process dies, even by SIGKILL,
// where no 'exit' handler of ours would run.
const setpriv = "/usr/bin/setpriv";

/**
 * The runner's environment without proxy settings: Go would send kube-apiserver's calls to webhooks on a
 * non-loopback address (the replica tests) through a proxy, which cannot reach them.
 */
export function withoutProxies(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const proxyVariables = new Set(["http_proxy", "https_proxy", "all_proxy", "no_proxy"]);
  return Object.fromEntries(Object.entries(env).filter(([name]) => !proxyVariables.has(name.toLowerCase())));
}

/** Starts spec.command with stdout and stderr appended to spec.logPath. */
export function startProcess(spec: ProcessSpec): ManagedProcess {
  const logFd = openSync(spec.logPath, "a");
  const [command, args] = existsSync(setpriv)
    ? [setpriv, ["--pdeathsig", "KILL", "--", spec.command, ...spec.args]]
    : [spec.command, spec.args];
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ["ignore", logFd, logFd], env: withoutProxies(process.env) });
  } finally {
    closeSync(logFd);
  }
  // A spawn failure is reported both as an 'error' event and as a missing pid; the pid check throws.
  child.once("error", () => undefined);
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`${spec.name}: could not start ${spec.command}; see ${spec.logPath}`);
  }

  let running = true;
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.on("exit", killOnExit);
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      running = false;
      process.off("exit", killOnExit);
      resolve(code ?? signal ?? "unknown");
    });
  });

  return {
    name: spec.name,
    pid,
    logPath: spec.logPath,
    exited,
    isRunning: () => running,
    async stop(graceMs = 5_000): Promise<void> {
      if (!running) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The last lines of a log file, for error messages. */
export async function logTail(logPath: string, lines = 40): Promise<string> {
  const text = await readFile(logPath, "utf8").catch(() => "");
  return text.split("\n").slice(-lines).join("\n");
}
