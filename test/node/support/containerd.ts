// Debian's containerd for the node, with a config of its own: every path under the node's dir, the CRI settings
// this kind of machine needs, the pod network's CNI config, and registries trusted through hosts.toml files.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ManagedProcess, startProcess } from "../../e2e/cluster/process.js";
import { waitUntilReady } from "../../e2e/cluster/wait.js";
import { runCommand } from "../../support/command.js";

export interface ContainerdOptions {
  /** containerd's own folder: root, state, sockets, CNI and registry config. */
  dir: string;
  sandboxImage: string;
  /** The CNI network's name (unique per node, so what it leaves in /var/lib/cni can be told apart). */
  networkName: string;
  podCidr: string;
  logPath: string;
}

export interface ContainerTask {
  id: string;
  pid: number;
  status: string;
}

export interface Containerd {
  socket: string;
  process: ManagedProcess;
  /** `ctr --address <socket> -n k8s.io args...`: the namespace the CRI plugin (and so the kubelet) uses. */
  ctr(args: readonly string[]): Promise<string>;
  /** Imports a docker or OCI archive into the CRI namespace, as if it had been pulled. */
  importImage(archive: string): Promise<void>;
  /** Lets the CRI plugin pull from https://host, trusting caCertPath for it. */
  trustRegistry(host: string, caCertPath: string): Promise<void>;
  /** The running tasks (one per container and per pod sandbox) with their host PIDs. */
  tasks(): Promise<ContainerTask[]>;
  /** SIGKILLs and deletes every task and container left (when the kubelet did not), then stops containerd. */
  stop(): Promise<void>;
}

function config(options: ContainerdOptions, socket: string): string {
  const { dir } = options;
  return `version = 2
root = "${join(dir, "root")}"
state = "${join(dir, "state")}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${socket}"

[ttrpc]
  address = "${socket}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, "opt")}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${options.sandboxImage}"
  # Pod network namespaces are mounted under state, not /run/netns, so teardown finds every one.
  netns_mounts_under_state_dir = true
  # The sandbox lacks CAP_SYS_RESOURCE: runc cannot give the pause container oom_score_adj -998 ("can't get
  # final child's PID from pipe: EOF"). Clamped to containerd's own score instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "${join(dir, "runc")}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${join(dir, "cni", "net.d")}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${join(dir, "certs.d")}"
`;
}

function cniConfig(options: ContainerdOptions): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: options.networkName,
      plugins: [
        {
          type: "bridge",
          bridge: "cni0",
          isGateway: true,
          ipMasq: false,
          // A pod reaching its own Service's ClusterIP comes back to itself through the bridge.
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: options.podCidr }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: join(options.dir, "cni", "ipam"),
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/** Writes the config and the pod network, starts containerd and waits until it answers. */
export async function startContainerd(options: ContainerdOptions): Promise<Containerd> {
  const { dir } = options;
  const socket = join(dir, "containerd.sock");
  await mkdir(join(dir, "cni", "net.d"), { recursive: true });
  await mkdir(join(dir, "certs.d"), { recursive: true });
  await writeFile(join(dir, "config.toml"), config(options, socket));
  await writeFile(join(dir, "cni", "net.d", "10-pods.conflist"), cniConfig(options));

  const child = startProcess({
    name: "containerd",
    command: "containerd",
    args: ["--config", join(dir, "config.toml")],
    logPath: options.logPath,
  });
  const ctr = async (args: readonly string[]): Promise<string> =>
    (await runCommand("ctr", ["--address", socket, "-n", "k8s.io", ...args])).stdout;
  await waitUntilReady(async () => (await ctr(["version"])) !== "", {
    what: "containerd",
    process: child,
    timeoutMs: 30_000,
  });

  const tasks = async (): Promise<ContainerTask[]> => {
    const lines = (await ctr(["tasks", "ls"])).trim().split("\n").slice(1);
    return lines
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields.length >= 3)
      .map(([id = "", pid = "", status = ""]) => ({ id, pid: Number(pid), status }));
  };

  return {
    socket,
    process: child,
    ctr,
    async importImage(archive) {
      await ctr(["images", "import", archive]);
    },
    async trustRegistry(host, caCertPath) {
      const hostDir = join(dir, "certs.d", host);
      await mkdir(hostDir, { recursive: true });
      await writeFile(
        join(hostDir, "hosts.toml"),
        `server = "https://${host}"\n\n[host."https://${host}"]\n  capabilities = ["pull", "resolve"]\n  ca = "${caCertPath}"\n`,
      );
    },
    tasks,
    async stop() {
      if (child.isRunning()) {
        const left = await tasks().catch(() => []);
        for (const task of left) await ctr(["tasks", "kill", "--signal", "SIGKILL", task.id]).catch(() => "");
        for (
          let waited = 0;
          waited < 40 && (await tasks().catch(() => [])).some((t) => t.status === "RUNNING");
          waited++
        )
          await sleep(250);
        for (const task of left) await ctr(["tasks", "delete", "--force", task.id]).catch(() => "");
        const containers = (await ctr(["containers", "ls", "-q"]).catch(() => ""))
          .split("\n")
          .filter(Boolean);
        for (const id of containers) await ctr(["containers", "delete", id]).catch(() => "");
      }
      await child.stop(15_000);
    },
  };
}
