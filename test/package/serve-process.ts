// Runs `serve` from an installed package as the image does (node with the ENTRYPOINT's options + dist/cli/main.js),
// reading where it listens from its log.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { request } from "node:https";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { imageNodeOptions } from "../bench/image-node-options.js";

const run = promisify(execFile);

export interface ServeProcess {
  readonly port: number;
  /** Resolves with the exit code, or the signal's name, once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Everything written to stderr so far. */
  stderr(): string;
  signal(signal: NodeJS.Signals): void;
}

export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** `node <packageDir>/dist/cli/main.js ...args` in `cwd`: its stdout; rejects unless it exits 0. */
export async function runInstalled(packageDir: string, cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(packageDir, "dist", "cli", "main.js"), ...args], {
    cwd,
    timeout: 15_000,
    killSignal: "SIGKILL",
  });
  return stdout;
}

/** Starts serve with `args` (which must include --port 0) and resolves once it logs "webhook listening". */
export async function startServe(
  packageDir: string,
  cwd: string,
  args: string[],
  timeoutMs = 15_000,
): Promise<ServeProcess> {
  const nodeOptions = await imageNodeOptions(join(import.meta.dirname, "../../Dockerfile"));
  const script = join(packageDir, "dist", "cli", "main.js");
  const child: ChildProcess = spawn(process.execPath, [...nodeOptions, script, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.on("exit", killOnExit);
  void exited.then(() => process.off("exit", killOnExit));

  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`serve did not log "webhook listening" within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    lines.on("line", (line) => {
      let entry: { msg?: string; address?: { port?: number } };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.msg === "webhook listening" && typeof entry.address?.port === "number") {
        clearTimeout(timer);
        resolve(entry.address.port);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before it listened; stderr: ${stderr}`));
    });
  });
  return {
    port,
    exited,
    stderr: () => stderr,
    signal: (signal) => {
      child.kill(signal);
    },
  };
}

/** One HTTPS request to 127.0.0.1:port trusting only `ca`; never rejects on an HTTP status. */
export function httpsRequest(
  port: number,
  ca: string,
  method: string,
  path: string,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        ca,
        agent: false,
        timeout: 5_000,
        headers:
          body === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 5000 ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Polls GET /readyz until it answers 200. */
export async function waitUntilReady(port: number, ca: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    try {
      const answer = await httpsRequest(port, ca, "GET", "/readyz");
      if (answer.status === 200) return;
      last = `HTTP ${answer.status}: ${answer.body}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`/readyz did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}
