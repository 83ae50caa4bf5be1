// Runs one load job in a separate load-generator process (load.ts) and hands back its result.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { LoadJob, LoadMessage, LoadResult } from "./load-protocol.js";

const loadScript = fileURLToPath(new URL("./load.ts", import.meta.url));
// The kernel SIGKILLs the generator if this process dies, even by SIGKILL.
const setpriv = "/usr/bin/setpriv";

/** The longest a job may take before the generator is killed. */
function budgetMs(job: LoadJob): number {
  if (job.kind === "sequential") return 60_000 + job.serviceAccounts.length * 15_000;
  if (job.kind === "burst") return 60_000 + job.bursts * (job.idleMs + 30_000);
  return job.warmupMs + job.durationMs + 60_000;
}

/** Spawns load.ts with `job`; `onWindow` hears when the measured window opens and closes. */
export function runLoad(
  job: LoadJob,
  onWindow: (edge: "start" | "end") => void = () => undefined,
): Promise<LoadResult> {
  const nodeArgs = ["--import", "tsx", loadScript, JSON.stringify(job)];
  const [command, args] = existsSync(setpriv)
    ? [setpriv, ["--pdeathsig", "KILL", "--", process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.on("exit", killOnExit);
  const timer = setTimeout(killOnExit, budgetMs(job));

  return new Promise((resolve, reject) => {
    let result: LoadResult | undefined;
    let pending = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      pending += chunk;
      for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
        const message = JSON.parse(pending.slice(0, newline)) as LoadMessage;
        pending = pending.slice(newline + 1);
        if (message.event === "result") result = message.result;
        else onWindow(message.event === "window-start" ? "start" : "end");
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      process.off("exit", killOnExit);
      if (result !== undefined) resolve(result);
      else reject(new Error(`load generator ended (${code ?? signal}) without a result:\n${stderr}`));
    });
  });
}
