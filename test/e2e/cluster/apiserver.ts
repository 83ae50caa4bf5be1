// Starts kube-apiserver against the test etcd (on loopback, or on a real node's address) and waits until /readyz passes.
import { join } from "node:path";
import type { KubeClient } from "./kube.js";
import type { ClusterPki } from "./pki.js";
import { type ManagedProcess, startProcess } from "./process.js";
import { waitUntilReady } from "./wait.js";

export interface ApiServerConfig {
  binary: string;
  dir: string;
  port: number;
  etcdEndpoint: string;
  pki: ClusterPki;
  issuer: string;
  apiAudiences: string[];
  /** Serve a real node (test/node) instead of a loopback-only control plane. */
  node?: ApiServerNodeConfig;
}

/** What a control plane with a kubelet, kube-proxy and controllers needs from kube-apiserver. */
export interface ApiServerNodeConfig {
  /** The node's address: listened on, and published as the `kubernetes` Service's endpoint. */
  address: string;
  /** A client certificate of system:masters, for kubectl logs/exec through the kubelet. */
  kubeletClientCertPath: string;
  kubeletClientKeyPath: string;
}

function apiServerArgs(config: ApiServerConfig): string[] {
  const common = [
    `--etcd-servers=${config.etcdEndpoint}`,
    `--secure-port=${config.port}`,
    `--cert-dir=${join(config.dir, "apiserver-certs")}`,
    `--tls-cert-file=${config.pki.servingCertPath}`,
    `--tls-private-key-file=${config.pki.servingKeyPath}`,
    `--client-ca-file=${config.pki.caCertPath}`,
    `--service-account-issuer=${config.issuer}`,
    `--service-account-key-file=${config.pki.saPublicKeyPath}`,
    `--service-account-signing-key-file=${config.pki.saSigningKeyPath}`,
    `--api-audiences=${config.apiAudiences.join(",")}`,
    "--authorization-mode=Node,RBAC",
    "--service-cluster-ip-range=10.96.0.0/16",
    "--allow-privileged=true",
    "--profiling=false",
  ];
  const { node } = config;
  if (node !== undefined) {
    return [
      ...common,
      `--bind-address=${node.address}`,
      `--advertise-address=${node.address}`,
      "--enable-admission-plugins=ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,NodeRestriction",
      `--kubelet-client-certificate=${node.kubeletClientCertPath}`,
      `--kubelet-client-key=${node.kubeletClientKeyPath}`,
      // The node's name does not resolve: kubectl logs/exec must dial the kubelet at its address.
      "--kubelet-preferred-address-types=InternalIP,Hostname",
    ];
  }
  return [
    ...common,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    "--enable-admission-plugins=ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
    // The reconciler would publish 127.0.0.1 as the kubernetes Service endpoint, which validation rejects on every loop.
    "--endpoint-reconciler-type=none",
    // A webhook's clientConfig.service is dialled at one of its EndpointSlices' ready endpoints, picked per call,
    // instead of at the ClusterIP, which nothing routes here (no kube-proxy). URL webhooks are not affected.
    "--enable-aggregator-routing=true",
  ];
}

/** Starts kube-apiserver with its log appended to dir/kube-apiserver.log (kept across restarts). */
export async function startApiServer(config: ApiServerConfig, client: KubeClient): Promise<ManagedProcess> {
  const child = startProcess({
    name: "kube-apiserver",
    command: config.binary,
    args: apiServerArgs(config),
    logPath: join(config.dir, "kube-apiserver.log"),
  });
  await waitUntilReady(async () => (await client.get("/readyz")).status === 200, {
    what: "kube-apiserver /readyz",
    process: child,
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  return child;
}
