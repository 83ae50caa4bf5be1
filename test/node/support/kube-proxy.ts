// kube-proxy in iptables mode: routes ClusterIPs, so kube-apiserver reaches the webhook through its Service.
import { join } from "node:path";
import { type ManagedProcess, startProcess } from "../../e2e/cluster/process.js";

export interface KubeProxyOptions {
  binary: string;
  kubeconfigPath: string;
  nodeName: string;
  /** All pods' addresses (traffic from elsewhere to a ClusterIP is masqueraded). */
  clusterCidr: string;
  dir: string;
}

export function startKubeProxy(options: KubeProxyOptions): ManagedProcess {
  return startProcess({
    name: "kube-proxy",
    command: options.binary,
    logPath: join(options.dir, "kube-proxy.log"),
    args: [
      `--kubeconfig=${options.kubeconfigPath}`,
      `--hostname-override=${options.nodeName}`,
      "--proxy-mode=iptables",
      `--cluster-cidr=${options.clusterCidr}`,
      // 0: leave the conntrack table size alone (the sandbox cannot write it).
      "--conntrack-max-per-core=0",
      "--metrics-bind-address=127.0.0.1:10249",
      "--healthz-bind-address=127.0.0.1:10256",
      "--profiling=false",
    ],
  });
}
