// One webhook replica: the built `serve` command bound to a non-loopback address (endpoints may not be loopback),
// which can be SIGKILLed like a crashed pod and tells, from its log, which pods it reviewed.
import { access, readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../support/ports.js";
import { type ManagedProcess, startProcess } from "../cluster/process.js";
import { waitUntilReady } from "../cluster/wait.js";
import { reviewedPods, serviceReadyz } from "../support/service-webhook.js";
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
  await waitUntilReady(
    async () => (await serviceReadyz({ ...options, port }, options.certificate.caCertPem)) === 200,
    {
      what: `${options.name} /readyz`,
      process: child,
      timeoutMs: 30_000,
      intervalMs: 100,
    },
  );
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
