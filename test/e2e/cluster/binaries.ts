// Locates (building on first use) the cluster's binaries through scripts/build-cluster.sh.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface ClusterBinaries {
  kubeApiServer: string;
  etcd: string;
  /** The node's (test/node): built by the same script, of the same Kubernetes version. */
  kubelet: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubeProxy: string;
  kubectl: string;
}

const buildScript = fileURLToPath(new URL("../../../scripts/build-cluster.sh", import.meta.url));

/**
 * Runs the build script, whose progress goes to our stderr and whose last stdout line is the bin dir.
 * A failed build rejects: an e2e suite that skips for want of a cluster would pass without testing anything.
 */
export function ensureClusterBinaries(): Promise<ClusterBinaries> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [buildScript], { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.once("error", (error) => reject(new Error(`could not run ${buildScript}: ${error.message}`)));
    child.once("close", (code) => {
      const binDir = stdout.trim().split("\n").at(-1);
      if (code !== 0 || binDir === undefined || binDir === "") {
        reject(
          new Error(`${buildScript} failed (exit ${code}); its errors are above. Run it by hand to retry.`),
        );
        return;
      }
      resolve({
        kubeApiServer: join(binDir, "kube-apiserver"),
        etcd: join(binDir, "etcd"),
        kubelet: join(binDir, "kubelet"),
        kubeControllerManager: join(binDir, "kube-controller-manager"),
        kubeScheduler: join(binDir, "kube-scheduler"),
        kubeProxy: join(binDir, "kube-proxy"),
        kubectl: join(binDir, "kubectl"),
      });
    });
  });
}
