// The node's kubelet: its config for a cgroup v1 host without CAP_SYS_RESOURCE, its client certificate and start.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { writeKubeconfig } from "../../e2e/cluster/kubeconfig.js";
import { type ManagedProcess, startProcess } from "../../e2e/cluster/process.js";

export interface KubeletOptions {
  binary: string;
  dir: string;
  nodeName: string;
  nodeIp: string;
  podCidr: string;
  containerdSocket: string;
  /** The cluster DNS server's address, written into every pod's resolv.conf. */
  clusterDns: string;
  server: string;
  caCertPem: string;
  caCertPath: string;
  /** CN=system:node:<nodeName>, O=system:nodes: what the Node authorizer and NodeRestriction expect. */
  clientCertPem: string;
  clientKeyPem: string;
  logPath: string;
}

function kubeletConfig(options: KubeletOptions, resolvConf: string): Record<string, unknown> {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // The host is cgroup v1 ("hybrid"); from 1.35 on the kubelet refuses v1 unless told.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    // No QoS hierarchy: containerd puts each container at <hierarchy>/k8s.io/<id> (see leftovers.ts).
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    localStorageCapacityIsolation: false,
    protectKernelDefaults: false,
    // The disk is shared with other work: evict nothing and collect no images because of it.
    evictionHard: { "memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    containerRuntimeEndpoint: `unix://${options.containerdSocket}`,
    address: options.nodeIp,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: 10248,
    clusterDomain: "cluster.local",
    clusterDNS: [options.clusterDns],
    // An empty file: pods resolve through the cluster DNS only, never the host's name servers.
    resolvConf,
    podCIDR: options.podCidr,
    serializeImagePulls: false,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: options.caCertPath },
    },
    authorization: { mode: "Webhook" },
  };
}

/** Writes the kubelet's config and kubeconfig into dir and starts it. */
export async function startKubelet(options: KubeletOptions): Promise<ManagedProcess> {
  const { dir } = options;
  await mkdir(dir, { recursive: true });
  const resolvConf = join(dir, "resolv.conf");
  await writeFile(resolvConf, "");
  await writeFile(join(dir, "config.yaml"), stringify(kubeletConfig(options, resolvConf)));
  const kubeconfigPath = join(dir, "kubeconfig");
  await writeKubeconfig(kubeconfigPath, {
    server: options.server,
    caCertPem: options.caCertPem,
    clientCertPem: options.clientCertPem,
    clientKeyPem: options.clientKeyPem,
  });
  return startProcess({
    name: "kubelet",
    command: options.binary,
    logPath: options.logPath,
    args: [
      `--config=${join(dir, "config.yaml")}`,
      `--kubeconfig=${kubeconfigPath}`,
      `--root-dir=${join(dir, "root")}`,
      `--cert-dir=${join(dir, "pki")}`,
      `--hostname-override=${options.nodeName}`,
      `--node-ip=${options.nodeIp}`,
    ],
  });
}
