// One webhook replica: the built `serve` command bound to a non-loopback address (endpoints may not be loopback),
// which can be SIGKILLed like a crashed pod and tells, from its log, which pods it reviewed.
import { access, readFile } from "node:fs/promises";
import { request } from "node:https";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../cluster/ports.js";
import { type ManagedProcess, startProcess } from "../cluster/process.js";
import { waitUntilReady } from "../cluster/wait.js";
import type { ServingCertificate } from "../support/serving-certificate.js";

const mainScript = fileURLToPath(new URL("../../../dist/cli/main.js", import.meta.url));

export interface ReplicaOptions {
  name: string;
  /** An IPv4 address of this machine that is not loopback (see endpointAddress). */
  address: string;
  kubeconfigPath: string;
  certificate: ServingCertificate;
  /** The DNS name of the certificate, asked for by SNI as the API server does. */
  serviceHost: string;
  /** Where `${name}.log` is written. */
  dir: string;
}

export interface Replica {
  name: string;
  address: string;
  port: number;
  logPath: string;
  isRunning(): boolean;
  /** SIGKILL (no drain, as when the container or its node dies); resolves once the process is reaped. */
  kill(): Promise<void>;
  /** The pod names of the reviews it logged for `namespace`, in order. */
  reviewedPods(namespace: string): Promise<string[]>;
  /** SIGTERM, then SIGKILL after the grace period; safe when already stopped. */
  stop(): Promise<void>;
}

/** The first IPv4 address of a non-loopback interface; endpoint validation rejects 127.0.0.0/8. */
export function endpointAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const address = addresses?.find((a) => a.family === "IPv4" && !a.internal);
    if (address !== undefined) return address.address;
  }
  throw new Error(
    "no non-loopback IPv4 address on this machine: the replicas need one to be listed as endpoints",
  );
}

/** Starts `node dist/cli/main.js serve` on address:(a free port) and waits for /readyz. */
export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  try {
    await access(mainScript);
  } catch {
    throw new Error(`${mainScript} is missing: run "npm run build" before the e2e tests`);
  }
  const port = await freePort();
  const logPath = join(options.dir, `${options.name}.log`);
  const child: ManagedProcess = startProcess({
    name: `web-identity-webhook ${options.name}`,
    command: process.execPath,
    logPath,
    args: [
      mainScript,
      "serve",
      `--kubeconfig=${options.kubeconfigPath}`,
      `--tls-cert=${options.certificate.certPath}`,
      `--tls-key=${options.certificate.keyPath}`,
      `--listen-address=${options.address}`,
      `--port=${port}`,
      "--metrics-port=0",
    ],
  });
  try {
    await waitUntilReady(async () => (await readyStatus(options, port)) === 200, {
      what: `${options.name} /readyz`,
      process: child,
      timeoutMs: 30_000,
      intervalMs: 100,
    });
  } catch (error) {
    await child.stop();
    throw error;
  }
  return {
    name: options.name,
    address: options.address,
    port,
    logPath,
    isRunning: () => child.isRunning(),
    async kill() {
      if (child.isRunning()) process.kill(child.pid, "SIGKILL");
      await child.exited;
    },
    async reviewedPods(namespace) {
      return reviewedPods(await readFile(logPath, "utf8"), namespace);
    },
    stop: () => child.stop(),
  };
}

/** The `pod` of each "review" log line for namespace (one JSON object per line, as the webhook logs). */
function reviewedPods(log: string, namespace: string): string[] {
  const pods: string[] = [];
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { msg?: string; namespace?: string; pod?: string };
    if (entry.msg === "review" && entry.namespace === namespace && entry.pod !== undefined)
      pods.push(entry.pod);
  }
  return pods;
}

/** GET /readyz over TLS verified against the CA for serviceHost, as the API server verifies the replica. */
function readyStatus(options: ReplicaOptions, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.address,
        port,
        path: "/readyz",
        servername: options.serviceHost,
        ca: options.certificate.caCertPem,
        agent: false,
        timeout: 5_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET /readyz of ${options.name}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}
