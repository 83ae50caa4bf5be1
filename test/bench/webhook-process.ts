// The webhook under test: the built CLI (`serve`, TLS on) as a child process, its readiness, memory and CPU time.

import { readFileSync } from "node:fs";
import { open, readFile, stat, writeFile } from "node:fs/promises";
import { Agent, get } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { logTail, type ManagedProcess, startProcess } from "../e2e/cluster/process.js";
import type { BenchCertificates } from "./certificates.js";
import { epochNow } from "./fake-kube-api.js";

export interface WebhookSpec {
  /** The built entry point, dist/cli/main.js. */
  readonly main: string;
  readonly port: number;
  /** Plain-HTTP /metrics, scraped for heap figures; 0 disables it. */
  readonly metricsPort: number;
  readonly certificates: BenchCertificates;
  readonly kubeconfigPath: string;
  readonly logPath: string;
  readonly logLevel: string;
  /** Node flags before the script, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** Flags of `serve` after the bench's own, e.g. a raised --max-body-bytes. */
  readonly serveArgs?: readonly string[];
  /** Giving up on /readyz after this long. */
  readonly readyTimeoutMs: number;
}

export interface Memory {
  /** VmRSS and VmHWM (peak) of /proc/PID/status, in MiB. */
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  /** V8 heap used and allocated, and memory outside the heap (Buffers), from the webhook's /metrics, in MiB. */
  readonly heapUsedMiB?: number;
  readonly heapTotalMiB?: number;
  readonly externalMiB?: number;
}

export interface RunningWebhook {
  readonly pid: number;
  /** Epoch milliseconds: just before spawn, and when /readyz first answered 200. */
  readonly spawnedAt: number;
  readonly readyAt: number;
  memory(): Promise<Memory>;
  /** User plus system CPU seconds the process has used so far. */
  cpuSeconds(): Promise<number>;
  /** The JSON log lines written so far (read whole: call it before heavy load, not after). */
  logLines(): Promise<LogLine[]>;
  /** Bytes of log written so far. */
  logBytes(): Promise<number>;
  /** The durationMs of every "review" line that starts in [fromByte, toByte) of the log. */
  reviewDurations(fromByte: number, toByte: number): Promise<number[]>;
  stop(): Promise<void>;
}

export interface LogLine {
  readonly time?: number;
  readonly level?: number;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

const readyPollMs = 10;

/** The JSON log lines of `text`; a line cut by a crash or by a window's edge is not JSON and is skipped. */
function jsonLines(text: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // Not a whole line.
    }
  }
  return lines;
}
const clockTicksPerSecond = 100;

/** A kubeconfig that points a client at the mock kube API, trusting the bench CA. */
export async function writeKubeconfig(path: string, server: string, caPem: string): Promise<void> {
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "bench",
        cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") },
      },
    ],
    users: [{ name: "bench", user: { token: "bench-token" } }],
    contexts: [{ name: "bench", context: { cluster: "bench", user: "bench" } }],
    "current-context": "bench",
  };
  await writeFile(path, stringify(kubeconfig), { mode: 0o600 });
}

/** GET /readyz on one kept-alive connection until 200; resolves with the epoch time of that answer. */
async function waitReady(
  port: number,
  ca: string,
  process: ManagedProcess,
  timeoutMs: number,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  const deadline = epochNow() + timeoutMs;
  try {
    while (epochNow() < deadline) {
      if (!process.isRunning()) break;
      const status = await new Promise<number>((resolve) => {
        const req = get({ host: "127.0.0.1", port, path: "/readyz", agent, timeout: 1000 }, (res) => {
          res.resume();
          res.once("end", () => resolve(res.statusCode ?? 0));
        });
        req.once("timeout", () => req.destroy());
        req.once("error", () => resolve(0));
      });
      if (status === 200) return epochNow();
      await sleep(readyPollMs);
    }
  } finally {
    agent.destroy();
  }
  const why = process.isRunning() ? `not ready after ${timeoutMs} ms` : "exited";
  throw new Error(`webhook ${why}; log:\n${await logTail(process.logPath)}`);
}

const heapMetrics = {
  heapUsedMiB: "nodejs_heap_size_used_bytes",
  heapTotalMiB: "nodejs_heap_size_total_bytes",
  externalMiB: "nodejs_external_memory_bytes",
} as const;

/** The heap gauges of a /metrics scrape; none when metrics are off or the scrape fails. */
async function scrapeHeap(metricsPort: number): Promise<Partial<Record<keyof typeof heapMetrics, number>>> {
  if (metricsPort === 0) return {};
  let text: string;
  try {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    text = await response.text();
  } catch {
    return {};
  }
  const heap: Partial<Record<keyof typeof heapMetrics, number>> = {};
  for (const [field, metric] of Object.entries(heapMetrics) as [keyof typeof heapMetrics, string][]) {
    const bytes = Number(new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text)?.[1]);
    if (Number.isFinite(bytes)) heap[field] = Math.round((bytes / 2 ** 20) * 10) / 10;
  }
  return heap;
}

async function procStatusMiB(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Starts the webhook and waits until /readyz answers 200. */
export async function startWebhook(spec: WebhookSpec): Promise<RunningWebhook> {
  const args = [
    ...(spec.nodeArgs ?? []),
    spec.main,
    "serve",
    "--listen-address",
    "127.0.0.1",
    "--port",
    String(spec.port),
    "--metrics-port",
    String(spec.metricsPort),
    "--tls-cert",
    spec.certificates.certPath,
    "--tls-key",
    spec.certificates.keyPath,
    "--kubeconfig",
    spec.kubeconfigPath,
    "--log-level",
    spec.logLevel,
    "--shutdown-delay",
    "0",
    "--shutdown-timeout",
    "2000",
    ...(spec.serveArgs ?? []),
  ];
  await writeFile(spec.logPath, "");
  const spawnedAt = epochNow();
  const child = startProcess({ name: "webhook", command: process.execPath, args, logPath: spec.logPath });
  const ca = readFileSync(spec.certificates.caPath, "utf8");
  let readyAt: number;
  try {
    readyAt = await waitReady(spec.port, ca, child, spec.readyTimeoutMs);
  } catch (error) {
    await child.stop(1000);
    throw error;
  }
  return {
    pid: child.pid,
    spawnedAt,
    readyAt,
    async memory() {
      return {
        rssMiB: await procStatusMiB(child.pid, "VmRSS"),
        peakRssMiB: await procStatusMiB(child.pid, "VmHWM"),
        ...(await scrapeHeap(spec.metricsPort)),
      };
    },
    async cpuSeconds() {
      const line = await readFile(`/proc/${child.pid}/stat`, "utf8");
      // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
      const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
    },
    async logLines() {
      return jsonLines(await readFile(spec.logPath, "utf8"));
    },
    async logBytes() {
      return (await stat(spec.logPath)).size;
    },
    async reviewDurations(fromByte, toByte) {
      // Only the window's bytes: by the latency phases the log holds hundreds of thousands of lines.
      const file = await open(spec.logPath);
      let text: string;
      try {
        const window = Buffer.alloc(Math.max(0, toByte - fromByte));
        const { bytesRead } = await file.read(window, 0, window.length, fromByte);
        text = window.toString("utf8", 0, bytesRead);
      } finally {
        await file.close();
      }
      const durations: number[] = [];
      for (const { msg, durationMs } of jsonLines(text)) {
        if (msg === "review" && typeof durationMs === "number") durations.push(durationMs);
      }
      return durations;
    },
    stop: () => child.stop(10_000),
  };
}
