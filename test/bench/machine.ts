// A record of the machine and code a result came from, so numbers are never compared blind.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { machineBusySeconds } from "./machine-load.js";

export interface MachineRecord {
  readonly date: string;
  readonly node: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly gitCommit: string;
  /** True when src/ differs from the commit: the code measured is not exactly the commit's. */
  readonly gitDirty: boolean;
  /** Cores busy over one second before the run: other load on the machine at the start. */
  readonly busyCoresBefore: number;
}

function git(args: readonly string[]): string {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

export async function machineRecord(): Promise<MachineRecord> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const busyBefore = await machineBusySeconds();
  await sleep(1000);
  const busyCoresBefore = Math.round(((await machineBusySeconds()) - busyBefore) * 100) / 100;
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    gitCommit: git(["rev-parse", "HEAD"]),
    gitDirty: git(["status", "--porcelain", "--", "src"]) !== "",
    busyCoresBefore,
  };
}
