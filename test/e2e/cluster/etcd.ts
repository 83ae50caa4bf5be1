// Starts a single-member etcd on loopback for the test cluster and waits until it is healthy.
import { join } from "node:path";
import { freePort } from "../../support/ports.js";
import { type ManagedProcess, startProcess } from "./process.js";
import { waitUntilReady } from "./wait.js";

export interface Etcd {
  process: ManagedProcess;
  /** http://127.0.0.1:PORT, for --etcd-servers. */
  endpoint: string;
}

/** Starts etcd with its data in dir/etcd-data and its log in dir/etcd.log. */
export async function startEtcd(binary: string, dir: string): Promise<Etcd> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = startProcess({
    name: "etcd",
    command: binary,
    logPath: join(dir, "etcd.log"),
    args: [
      "--name=e2e",
      `--data-dir=${join(dir, "etcd-data")}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=e2e=${peerUrl}`,
      // Durability is worthless for a throwaway cluster, and fsync is the slowest part of etcd on a small VM.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
  });
  await waitUntilReady(
    async () => {
      const res = await fetch(`${endpoint}/health`);
      const body = (await res.json()) as { health?: string };
      return res.ok && body.health === "true";
    },
    { what: "etcd /health", process: child, timeoutMs: 30_000 },
  );
  return { process: child, endpoint };
}
