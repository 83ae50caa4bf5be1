// A network namespace of a test's own, with one non-loopback address on its lo, and how to run commands in it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface NetworkNamespace {
  /** The name under /run/netns. */
  readonly name: string;
  /** The namespace's address (on its lo): servers listen there, clients in the namespace reach it. */
  readonly address: string;
  /** Deletes the namespace; fails, naming them, if processes are still inside. */
  remove(): Promise<void>;
}

let created = 0;

/**
 * Creates a namespace holding `address` on its loopback interface and nothing else: no link leaves it and it has
 * no route out, so whatever runs inside can reach only what the test started there.
 */
export async function createNetworkNamespace(address: string): Promise<NetworkNamespace> {
  created += 1;
  const name = `wiw-release-${process.pid}-${created}`;
  await run("ip", ["netns", "add", name]);
  const netns: NetworkNamespace = { name, address, remove: () => removeNamespace(name) };
  try {
    await run("ip", ["-n", name, "link", "set", "lo", "up"]);
    await run("ip", ["-n", name, "addr", "add", `${address}/32`, "dev", "lo"]);
  } catch (error) {
    await netns.remove();
    throw error;
  }
  return netns;
}

async function removeNamespace(name: string): Promise<void> {
  const { stdout } = await run("ip", ["netns", "pids", name]);
  const pids = stdout.trim();
  if (pids !== "") {
    throw new Error(
      `network namespace ${name} still has processes (${pids.split("\n").join(", ")}); stop them first`,
    );
  }
  await run("ip", ["netns", "delete", name]);
}

/**
 * The command line that runs `command` inside `netns` (nsenter enters the network only and then execs, so the
 * pid is the command's), or `command` itself when there is no namespace.
 */
export function inNamespace(
  netns: NetworkNamespace | undefined,
  command: string,
  args: readonly string[],
): [string, string[]] {
  if (netns === undefined) return [command, [...args]];
  return ["nsenter", [`--net=/run/netns/${netns.name}`, "--", command, ...args]];
}
