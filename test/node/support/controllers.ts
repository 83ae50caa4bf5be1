// kube-controller-manager and kube-scheduler: what turns Deployments into scheduled pods on the node.
import { join } from "node:path";
import { type ManagedProcess, startProcess } from "../../e2e/cluster/process.js";

export interface ControllersOptions {
  kubeControllerManager: string;
  kubeScheduler: string;
  /** An admin kubeconfig (both run with its credentials, as one would in a static pod with its own). */
  kubeconfigPath: string;
  caCertPath: string;
  saSigningKeyPath: string;
  dir: string;
}

/** Starts both; neither elects a leader (one node, one of each). */
export function startControllers(options: ControllersOptions): ManagedProcess[] {
  const kubeconfig = [
    `--kubeconfig=${options.kubeconfigPath}`,
    `--authentication-kubeconfig=${options.kubeconfigPath}`,
    `--authorization-kubeconfig=${options.kubeconfigPath}`,
    "--leader-elect=false",
    "--profiling=false",
  ];
  const controllerManager = startProcess({
    name: "kube-controller-manager",
    command: options.kubeControllerManager,
    logPath: join(options.dir, "kube-controller-manager.log"),
    args: [
      ...kubeconfig,
      "--bind-address=127.0.0.1",
      "--secure-port=10257",
      "--use-service-account-credentials=false",
      `--service-account-private-key-file=${options.saSigningKeyPath}`,
      // Publishes kube-root-ca.crt in every namespace, which every pod's kube-api-access volume needs.
      `--root-ca-file=${options.caCertPath}`,
      // The node's pod CIDR is in the kubelet's config: no IPAM controller.
      "--controllers=*,-nodeipam",
    ],
  });
  const scheduler = startProcess({
    name: "kube-scheduler",
    command: options.kubeScheduler,
    logPath: join(options.dir, "kube-scheduler.log"),
    args: [...kubeconfig, "--bind-address=127.0.0.1", "--secure-port=10259"],
  });
  return [controllerManager, scheduler];
}
