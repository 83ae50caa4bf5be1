// The built `serve` (dist/cli/main.js) as its own process, so its resident memory and file descriptors can be
// read from /proc; optionally under a lower file descriptor limit, as a container may run it.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { imageNodeOptions } from "../../bench/image-node-options.js";
import { send } from "../../server/support/https-client.js";
import { freePort } from "../../support/ports.js";
import { until } from "../../support/until.js";

/** The build under test; SERVE_MAIN runs the same tests against another (e.g. one from before a change). */
const mainScript =
  process.env.SERVE_MAIN ?? fileURLToPath(new URL("../../../dist/cli/main.js", import.meta.url));

const dockerfile = fileURLToPath(new URL("../../../Dockerfile", import.meta.url));

const serviceAccounts = `- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: app
    namespace: shop
    annotations:
      eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app
`;

export interface ServeProcess {
  readonly pid: number;
  readonly port: number;
  readonly metricsPort: number;
  readonly ca: readonly string[];
  /** Resident memory now and at its peak (VmRSS, VmHWM), MiB. */
  memory(): Promise<{ rssMiB: number; peakRssMiB: number }>;
  /** Open file descriptors of the process. */
  openFiles(): Promise<number>;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s; removes its files. */
  stop(): Promise<void>;
}

export interface ServeProcessOptions {
  readonly args?: readonly string[];
  /** Default: the image's, from the Dockerfile's ENTRYPOINT, so memory is measured as it ships. */
  readonly nodeOptions?: readonly string[];
  /** RLIMIT_NOFILE (soft and hard) the process runs under. */
  readonly fileLimit?: number;
}

function statusField(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  if (match?.[1] === undefined) throw new Error(`/proc status has no ${field}`);
  return Math.round((Number(match[1]) / 1024) * 10) / 10;
}

export async function startServeProcess(options: ServeProcessOptions = {}): Promise<ServeProcess> {
  const dir = await mkdtemp(join(tmpdir(), "wiw-serve-"));
  await writeFile(join(dir, "serviceaccounts.yaml"), serviceAccounts);
  const port = await freePort();
  const metricsPort = await freePort();
  const argv = [
    ...(options.nodeOptions ?? (await imageNodeOptions(dockerfile))),
    mainScript,
    "serve",
    "--service-accounts-file",
    join(dir, "serviceaccounts.yaml"),
    "--generate-self-signed",
    "--tls-cert",
    join(dir, "tls.crt"),
    "--tls-key",
    join(dir, "tls.key"),
    "--listen-address",
    "127.0.0.1",
    "--port",
    String(port),
    "--metrics-port",
    String(metricsPort),
    "--shutdown-delay",
    "0",
    "--log-level",
    "warn",
    ...(options.args ?? []),
  ];
  // `ulimit -n` in the shell sets both limits; exec keeps the pid ours.
  const child: ChildProcess =
    options.fileLimit === undefined
      ? spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] })
      : spawn(
          "/bin/sh",
          ["-c", `ulimit -n ${options.fileLimit} && exec "$0" "$@"`, process.execPath, ...argv],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream !== null) createInterface({ input: stream }).on("line", (line) => output.push(line));
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let running = true;
  void exited.then(() => {
    running = false;
  });
  const stop = async () => {
    if (running) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const certPath = join(dir, "tls.crt");
    let ca: string[] = [];
    await until(
      async () => {
        if (!running) throw new Error(`serve exited: ${output.join("\n")}`);
        try {
          ca = [await readFile(certPath, "utf8")];
          return (await send({ port, ca }, { path: "/readyz" })).status === 200;
        } catch {
          return false;
        }
      },
      "serve answers /readyz",
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const pid = child.pid as number;
    return {
      pid,
      port,
      metricsPort,
      ca,
      async memory() {
        const status = await readFile(`/proc/${pid}/status`, "utf8");
        return { rssMiB: statusField(status, "VmRSS"), peakRssMiB: statusField(status, "VmHWM") };
      },
      openFiles: async () => (await readdir(`/proc/${pid}/fd`)).length,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
