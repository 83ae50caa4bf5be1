// Runs a command whose only DNS server is one of ours (private-dns-server.ts), in private user, network,
// mount and PID namespaces made by unshare: no lookup leaves the machine, and nothing outlives the command.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Finished, runToEnd } from "./run-to-end.js";

export type DnsMode = "silent" | "nxdomain";

const server = fileURLToPath(new URL("./private-dns-server.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");
// The resolv.conf a kubelet writes for a pod in namespace iam.
const resolvConf = [
  "search iam.svc.cluster.local svc.cluster.local cluster.local",
  "nameserver 127.0.0.1",
  "options ndots:5",
  "",
].join("\n");
// In the new namespaces: loopback up, our resolv.conf over the machine's, then the server and the command.
const enter = 'ip link set lo up && mount --bind "$0" /etc/resolv.conf && exec "$@"';
const unshare = ["--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--kill-child"];
const path = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`;

/** Why the namespaces cannot be made on this machine, or undefined when they can. */
export async function privateDnsUnavailable(): Promise<string | undefined> {
  const why = "unshare cannot make user, network, mount and PID namespaces here";
  try {
    const tried = await runToEnd(
      "unshare",
      [...unshare, "sh", "-c", "ip link set lo up"],
      { PATH: path },
      10_000,
    );
    return tried.code === 0 ? undefined : `${why}: ${tried.stderr.trim()}`;
  } catch (error) {
    return `${why}: ${(error as Error).message}`;
  }
}

/** Runs `command` with `env`, its DNS answered as `mode` says; killed after `timeoutMs`. */
export async function runWithPrivateDns(
  mode: DnsMode,
  command: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<Finished> {
  const dir = await mkdtemp(join(tmpdir(), "wiw-dns-"));
  try {
    const conf = join(dir, "resolv.conf");
    await writeFile(conf, resolvConf);
    const args = [...unshare, "sh", "-c", enter, conf, process.execPath, "--import", tsx, server, mode];
    return await runToEnd("unshare", [...args, ...command], { ...env, PATH: path }, timeoutMs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
