// What a stopped node may leave on the host, swept after the node's processes are gone and then searched for:
// processes, mounts, cgroups, network namespaces, containerd's and CNI's state outside the node's dir.
import { readdir, readFile, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runCommand } from "../../support/command.js";

/** Host folders that containerd 1.6, its shim and CNI use whatever their config says. */
const sharedStateDirs = ["/run/containerd", "/var/lib/cni"];
const cgroupRootDir = "/sys/fs/cgroup";
/**
 * Where containerd's CRI plugin puts every container's cgroup, <hierarchy>/k8s.io/<id> (after its namespace):
 * with cgroupsPerQOS off the kubelet names no cgroup parent, whatever its cgroupRoot. Only the node uses it
 * (one node suite at a time, see scripts/node-suite.sh).
 */
const containerCgroups = "k8s.io";
/** The names containerd gives pod network namespaces it mounts under /run/netns (ours go under its state). */
const podNetnsPrefix = "cni-";

export interface HostTraces {
  /** The node's own folder. */
  dir: string;
  /** The pod network's name, which CNI puts into the names of its cache files. */
  networkName: string;
}

/** The entries under the shared state folders and /run/netns before the node started, to tell ours apart. */
export interface HostSnapshot {
  paths: Set<string>;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const paths: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    paths.push(path);
    if (entry.isDirectory()) paths.push(...(await walk(path)));
  }
  return paths;
}

async function sharedPaths(): Promise<string[]> {
  const found: string[] = [];
  for (const dir of sharedStateDirs) {
    if ((await readdir(dir).catch(() => undefined)) !== undefined) found.push(dir, ...(await walk(dir)));
  }
  const netns = await readdir("/run/netns").catch(() => []);
  found.push(
    ...netns.filter((name) => name.startsWith(podNetnsPrefix)).map((name) => join("/run/netns", name)),
  );
  found.push(...(await cgroupDirs()));
  return found;
}

export async function snapshotHost(): Promise<HostSnapshot> {
  return { paths: new Set(await sharedPaths()) };
}

/** The mount points under dir, deepest first (from /proc/self/mountinfo, octal escapes decoded). */
async function mountsUnder(dir: string): Promise<string[]> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  return mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point !== undefined)
    .map((point) =>
      point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
    )
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** The containers' cgroup folder in every hierarchy, and each container's in it. */
async function cgroupDirs(): Promise<string[]> {
  const hierarchies = await readdir(cgroupRootDir).catch(() => []);
  const found: string[] = [];
  for (const hierarchy of hierarchies) {
    const path = join(cgroupRootDir, hierarchy, containerCgroups);
    const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
    if (entries === undefined) continue;
    found.push(path, ...entries.filter((e) => e.isDirectory()).map((e) => join(path, e.name)));
  }
  return found;
}

/** A cgroup and its children, removed deepest first (a cgroup folder goes with rmdir once it has no tasks). */
async function removeCgroup(path: string): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory()) await removeCgroup(join(path, entry.name));
  await rmdir(path).catch(() => undefined);
}

/**
 * Cleans what the node's processes leave behind once they are all stopped: unmounts under dir (deepest first),
 * removes the node's cgroups, and the folders under the shared state dirs that the node created and left empty.
 * Removes dir only when nothing is mounted there any more (removing through a mount would reach into it).
 */
export async function sweepHost(traces: HostTraces, before: HostSnapshot): Promise<void> {
  for (const point of await mountsUnder(traces.dir)) {
    await runCommand("umount", [point]).catch(() =>
      runCommand("umount", ["-l", point]).catch(() => undefined),
    );
  }
  for (const path of await cgroupDirs()) if (!before.paths.has(path)) await removeCgroup(path);
  const created = (await sharedPaths())
    .filter((path) => !before.paths.has(path))
    .sort((a, b) => b.length - a.length);
  for (const path of created) await rmdir(path).catch(() => undefined);
  if ((await mountsUnder(traces.dir)).length === 0) await rm(traces.dir, { recursive: true, force: true });
}

/** Processes whose command line names dir (containerd's shims) or that run in a container's cgroup. */
async function processesLeft(traces: HostTraces): Promise<{ pid: number; cmdline: string }[]> {
  const found: { pid: number; cmdline: string }[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""))
      .replaceAll("\0", " ")
      .trim();
    const cgroup = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
    if (cmdline.includes(traces.dir) || cgroup.includes(`:/${containerCgroups}/`))
      found.push({ pid: Number(pid), cmdline: cmdline.slice(0, 200) });
  }
  return found;
}

/**
 * After a teardown that left something (findLeftovers was not empty) or had a step fail: SIGKILLs the node's processes left
 * (containerd's shims and their containers, by PID), removes the files the node created in the shared state
 * folders (shim sockets, CNI results), then sweeps again, so the next run finds the host as it was.
 */
export async function forceClean(traces: HostTraces, before: HostSnapshot): Promise<void> {
  for (const { pid } of await processesLeft(traces)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  await sleep(500);
  const created = (await sharedPaths()).filter(
    (path) => !before.paths.has(path) && !path.startsWith(cgroupRootDir),
  );
  for (const path of created) await rm(path, { force: true }).catch(() => undefined);
  await sweepHost(traces, before);
}

/** Everything of the node still on the host, one line each; empty when the node stopped cleanly. */
export async function findLeftovers(traces: HostTraces, before: HostSnapshot): Promise<string[]> {
  const left = (await processesLeft(traces)).map(({ pid, cmdline }) => `process ${pid}: ${cmdline}`);
  left.push(...(await mountsUnder(traces.dir)).map((point) => `mount ${point}`));
  const created = (await sharedPaths()).filter((path) => !before.paths.has(path));
  left.push(...created.map((path) => (path.startsWith(cgroupRootDir) ? `cgroup ${path}` : `state ${path}`)));
  const cniCache = await walk("/var/lib/cni");
  left.push(
    ...cniCache.filter((path) => path.includes(traces.networkName)).map((path) => `CNI state ${path}`),
  );
  if ((await readdir(traces.dir).catch(() => undefined)) !== undefined) left.push(`folder ${traces.dir}`);
  return [...new Set(left)];
}
