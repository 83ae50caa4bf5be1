// A one-node Kubernetes cluster for the node suite: etcd, kube-apiserver, containerd, kubelet,
// kube-controller-manager, kube-scheduler, kube-proxy and a cluster DNS, inside the suite's network namespace.
//
// One node per test file: `before(async () => { node = await startNode(); })` and
// `after(async () => { assert.deepEqual(await node?.stop(), []); })`, so a file also fails when its node leaves
// a process, mount, cgroup or state folder behind. What other suites (the STS chain) can use:
//   node.issuer          the ServiceAccount issuer: https://<node address>:6443, the API server itself, which
//                        serves /.well-known/openid-configuration and /openid/v1/jwks to anyone (anonymous
//                        discovery is bound here, as for an STS that fetches it)
//   node.caCertPem/Path  the CA of the API server's certificate (and of its client certificates)
//   node.network.nodeIp  the node's address, to listen on from the test runner (already inside the namespace:
//                        anything started with test/e2e/cluster/process.ts startProcess runs there too)
//   buildImage(...)      (images.ts) builds an image into the project's container storage with buildah;
//   node.importImage(r)  then puts it into containerd for pods (imagePullPolicy: Never or IfNotPresent)
//   node.trustRegistry   lets containerd pull from a test registry (registry.ts of test/release)
//   node.runPod(pod)     creates a pod, waits until it has run to completion, and returns its phase and logs
//   node.kubectl, node.client, node.kubeconfigPath, node.createNamespace(name)
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ApiServerConfig, startApiServer } from "../../e2e/cluster/apiserver.js";
import { ensureClusterBinaries } from "../../e2e/cluster/binaries.js";
import { type Etcd, startEtcd } from "../../e2e/cluster/etcd.js";
import { createKubeClient, type KubeClient, type KubeCredentials } from "../../e2e/cluster/kube.js";
import { writeKubeconfig } from "../../e2e/cluster/kubeconfig.js";
import { createClusterPki } from "../../e2e/cluster/pki.js";
import type { ManagedProcess } from "../../e2e/cluster/process.js";
import { waitUntilReady } from "../../e2e/cluster/wait.js";
import { createHelmCli, type HelmCli } from "../../e2e/helm-support/helm-cli.js";
import { type ClusterDns, clusterDomain, startClusterDns } from "./cluster-dns.js";
import { type Containerd, startContainerd } from "./containerd.js";
import { startControllers } from "./controllers.js";
import {
  busyboxImageArchive,
  kubernetesVersion,
  localImages,
  pauseImageArchive,
  saveImage,
} from "./images.js";
import { startKubeProxy } from "./kube-proxy.js";
import { createKubectl, type Kubectl } from "./kubectl.js";
import { startKubelet } from "./kubelet.js";
import { findLeftovers, forceClean, type HostTraces, snapshotHost, sweepHost } from "./leftovers.js";
import { type NodeNetwork, nodeNetwork } from "./network.js";

const nodeName = "node-1";
const apiServerPort = 6443;
const podCidr = "10.244.0.0/24";
const clusterCidr = "10.244.0.0/16";
/** The first address of kube-apiserver's --service-cluster-ip-range: the `kubernetes` Service. */
const kubernetesServiceIp = "10.96.0.1";

export interface PodRun {
  phase: string;
  logs: string;
}

export interface TestNode {
  network: NodeNetwork;
  nodeName: string;
  /** https://<node address>:6443 */
  server: string;
  issuer: string;
  caCertPem: string;
  caCertPath: string;
  /** Admin (system:masters) kubeconfig. */
  kubeconfigPath: string;
  client: KubeClient;
  kubectl: Kubectl;
  /** The real helm, with the admin kubeconfig and its own home. */
  helm: HelmCli;
  containerd: Containerd;
  /** The busybox image every node has, for test pods. */
  busyboxImage: string;
  /** Milliseconds from startNode() to the node being Ready. */
  startedInMs: number;
  /** A folder of this node's for the test's own files; removed by stop(). */
  workDir: string;
  /** Imports an image of the project's container storage into containerd. */
  importImage(ref: string): Promise<void>;
  /** Lets containerd pull from https://host, trusting caCertPath. */
  trustRegistry(host: string, caCertPath: string): Promise<void>;
  /** Creates a namespace and waits until the controllers have made its default ServiceAccount. */
  createNamespace(name: string): Promise<void>;
  /** Creates the pod (restartPolicy should be Never), waits until it has run to completion, deletes it. */
  runPod(namespace: string, pod: object, timeoutMs?: number): Promise<PodRun>;
  /**
   * Stops everything in the recipe's order and returns what is still left on the host (empty: a clean stop).
   * Every step runs even when one fails; then it rejects with an AggregateError of the failures.
   */
  stop(): Promise<string[]>;
}

interface Started {
  etcd?: Etcd;
  apiServer?: ManagedProcess;
  containerd?: Containerd;
  kubelet?: ManagedProcess;
  controllers: ManagedProcess[];
  kubeProxy?: ManagedProcess;
  dns?: ClusterDns;
}

/** Starts the node and waits until it is Ready. Run inside the suite's namespace (see network.ts). */
export async function startNode(): Promise<TestNode> {
  const began = Date.now();
  const network = nodeNetwork();
  const [binaries, version, before] = await Promise.all([
    ensureClusterBinaries(),
    kubernetesVersion(),
    snapshotHost(),
  ]);
  const dir = await mkdtemp(join(tmpdir(), "wiw-node-"));
  const id = randomBytes(3).toString("hex");
  // Every process of the node logs to <name>.log in dir.
  const traces: HostTraces = { dir, networkName: `wiw-node-${id}` };
  const workDir = join(dir, "work");
  await Promise.all([mkdir(workDir), mkdir(join(dir, "pki"))]);
  const started: Started = { controllers: [] };

  const stopAll = async (client?: KubeClient): Promise<string[]> => {
    const { containerd } = started;
    const deletePods =
      client !== undefined && started.kubelet?.isRunning() && containerd !== undefined
        ? () => deleteAllPods(client, containerd)
        : undefined;
    const errors = await runEveryStep([
      ...started.controllers.map((controller) => () => controller.stop()),
      deletePods,
      () => started.kubeProxy?.stop(),
      () => started.kubelet?.stop(15_000),
      () => started.containerd?.stop(),
      () => started.dns?.stop(),
      // Before etcd: with etcd gone its graceful shutdown waits out the timeout.
      () => started.apiServer?.stop(15_000),
      () => started.etcd?.process.stop(),
      () => keepLogs(dir),
      () => sweepHost(traces, before),
    ]);
    let left: string[] = [];
    errors.push(
      ...(await runEveryStep([
        async () => {
          left = await findLeftovers(traces, before);
        },
      ])),
    );
    if (left.length > 0 || errors.length > 0)
      errors.push(...(await runEveryStep([() => forceClean(traces, before)])));
    if (errors.length > 0)
      throw new AggregateError(
        errors,
        `stopping the node failed in ${errors.length} step(s): ${errors.map(String).join("; ")}` +
          (left.length === 0 ? "" : `; left behind: ${left.join("; ")}`),
      );
    return left;
  };

  let client: KubeClient | undefined;
  try {
    const server = `https://${network.nodeIp}:${apiServerPort}`;
    const pki = await createClusterPki(join(dir, "pki"), {
      addresses: [network.nodeIp, kubernetesServiceIp, "127.0.0.1"],
      dnsNames: [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        `kubernetes.default.svc.${clusterDomain}`,
      ],
    });
    const [kubeletClient, apiServerKubeletClient, pause, busybox] = await Promise.all([
      pki.issueClientCertificate({ commonName: `system:node:${nodeName}`, organizationName: "system:nodes" }),
      pki.issueClientCertificate({
        commonName: "kube-apiserver-kubelet-client",
        organizationName: "system:masters",
      }),
      pauseImageArchive(version, dirname(binaries.kubelet)),
      busyboxImageArchive(),
    ]);
    const kubeletClientCertPath = join(dir, "pki", "apiserver-kubelet-client.crt");
    const kubeletClientKeyPath = join(dir, "pki", "apiserver-kubelet-client.key");
    await writeFile(kubeletClientCertPath, apiServerKubeletClient.certPem);
    await writeFile(kubeletClientKeyPath, apiServerKubeletClient.keyPem, { mode: 0o600 });
    const credentials: KubeCredentials = {
      server,
      caCertPem: pki.caCertPem,
      clientCertPem: pki.adminCertPem,
      clientKeyPem: pki.adminKeyPem,
    };
    const kubeconfigPath = join(dir, "admin.kubeconfig");
    await writeKubeconfig(kubeconfigPath, credentials);
    const apiClient = createKubeClient(credentials);
    client = apiClient;

    // containerd does not need the API server: start both at once.
    const containerdStarting = startContainerd({
      dir: join(dir, "containerd"),
      sandboxImage: pause.ref,
      networkName: traces.networkName,
      podCidr,
      logPath: join(dir, "containerd.log"),
    }).then(async (containerd) => {
      started.containerd = containerd;
      await containerd.importImage(pause.archive);
      await containerd.importImage(busybox.archive);
      return containerd;
    });
    started.etcd = await startEtcd(binaries.etcd, dir);
    const issuer = server;
    const apiServerConfig: ApiServerConfig = {
      binary: binaries.kubeApiServer,
      dir,
      port: apiServerPort,
      etcdEndpoint: started.etcd.endpoint,
      pki,
      issuer,
      // The default (the issuer) spelled out: sts.amazonaws.com is for AWS, never for this API server.
      apiAudiences: [issuer],
      node: { address: network.nodeIp, kubeletClientCertPath, kubeletClientKeyPath },
    };
    started.apiServer = await startApiServer(apiServerConfig, apiClient);
    const containerd = await containerdStarting;
    await allowAnonymousIssuerDiscovery(apiClient);

    started.dns = await startClusterDns(apiClient, network.nodeIp);
    started.kubelet = await startKubelet({
      binary: binaries.kubelet,
      dir: join(dir, "kubelet"),
      nodeName,
      nodeIp: network.nodeIp,
      podCidr,
      containerdSocket: containerd.socket,
      clusterDns: network.nodeIp,
      server,
      caCertPem: pki.caCertPem,
      caCertPath: pki.caCertPath,
      clientCertPem: kubeletClient.certPem,
      clientKeyPem: kubeletClient.keyPem,
      logPath: join(dir, "kubelet.log"),
    });
    started.controllers = startControllers({
      kubeControllerManager: binaries.kubeControllerManager,
      kubeScheduler: binaries.kubeScheduler,
      kubeconfigPath,
      caCertPath: pki.caCertPath,
      saSigningKeyPath: pki.saSigningKeyPath,
      dir,
    });
    started.kubeProxy = startKubeProxy({
      binary: binaries.kubeProxy,
      kubeconfigPath,
      nodeName,
      clusterCidr,
      dir,
    });
    await waitUntilReady(async () => isNodeReady(apiClient), {
      what: `node ${nodeName} Ready`,
      process: started.kubelet,
      timeoutMs: 120_000,
      intervalMs: 200,
    });
    const kubectl = await createKubectl(binaries.kubectl, kubeconfigPath, join(dir, "kubectl-home"));
    const helm = await createHelmCli(kubeconfigPath, join(dir, "helm-home"));

    let stopped: Promise<string[]> | undefined;
    const node: TestNode = {
      network,
      nodeName,
      server,
      issuer,
      caCertPem: pki.caCertPem,
      caCertPath: pki.caCertPath,
      kubeconfigPath,
      client: apiClient,
      kubectl,
      helm,
      containerd,
      busyboxImage: localImages.busybox,
      startedInMs: Date.now() - began,
      workDir,
      async importImage(ref) {
        await containerd.importImage(await saveImage(ref, workDir));
      },
      trustRegistry: (host, caCertPath) => containerd.trustRegistry(host, caCertPath),
      createNamespace: (name) => createNamespace(apiClient, name),
      runPod: (namespace, pod, timeoutMs) => runPod(apiClient, namespace, pod, timeoutMs),
      stop() {
        stopped ??= stopAll(apiClient);
        return stopped;
      },
    };
    return node;
  } catch (error) {
    const left = await stopAll(client).catch((stopError: unknown) => [
      `teardown failed: ${String(stopError)}`,
    ]);
    const suffix = left.length === 0 ? "" : `\nand the teardown left: ${left.join("; ")}`;
    throw new Error(`${error instanceof Error ? error.message : String(error)}${suffix}`, { cause: error });
  }
}

/**
 * Runs the steps in order, each even when one before it failed (a process that would not stop must not leave
 * the rest running), and resolves with the failures. An undefined step is skipped.
 */
export async function runEveryStep(
  steps: readonly ((() => Promise<unknown> | undefined) | undefined)[],
): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step?.();
    } catch (error) {
      errors.push(error);
    }
  }
  return errors;
}

/** With WIW_NODE_KEEP_LOGS=1, copies the node's logs to <dir>-logs before the teardown removes dir. */
async function keepLogs(dir: string): Promise<void> {
  if (process.env.WIW_NODE_KEEP_LOGS !== "1") return;
  const kept = `${dir}-logs`;
  await mkdir(kept, { recursive: true });
  for (const name of await readdir(dir))
    if (name.endsWith(".log")) await copyFile(join(dir, name), join(kept, name));
  process.stderr.write(`node logs kept in ${kept}\n`);
}

interface NodeStatus {
  status?: { conditions?: { type: string; status: string }[] };
}

async function isNodeReady(client: KubeClient): Promise<boolean> {
  const node = await client.request<NodeStatus>("GET", `/api/v1/nodes/${nodeName}`);
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/**
 * Lets anyone read the issuer's discovery document and keys, as an STS outside the cluster must
 * (Kubernetes binds system:service-account-issuer-discovery to ServiceAccounts only).
 */
async function allowAnonymousIssuerDiscovery(client: KubeClient): Promise<void> {
  await client.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "service-account-issuer-discovery-anonymous" },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "system:service-account-issuer-discovery",
    },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:unauthenticated" }],
  });
}

interface PodList {
  items: { metadata: { name: string; namespace: string } }[];
}

/**
 * Deletes every pod with a 1 s grace period and waits until the kubelet has confirmed each one gone and
 * stopped its sandbox, so it tears down their containers, volumes and pod networks itself. Run with the
 * controllers stopped (nothing recreates them); gives up after a minute and leaves the rest to containerd's stop.
 */
async function deleteAllPods(client: KubeClient, containerd: Containerd): Promise<void> {
  const deadline = Date.now() + 60_000;
  const deleted = new Set<string>();
  while (Date.now() < deadline) {
    const pods = await client.request<PodList>("GET", "/api/v1/pods").catch(() => undefined);
    if (pods === undefined || pods.items.length === 0) {
      if ((await containerd.tasks().catch(() => [])).length === 0) return;
      await sleep(250);
      continue;
    }
    for (const { metadata } of pods.items) {
      const key = `${metadata.namespace}/${metadata.name}`;
      if (deleted.has(key)) continue;
      deleted.add(key);
      await client
        .request("DELETE", `/api/v1/namespaces/${metadata.namespace}/pods/${metadata.name}`, {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 1,
        })
        .catch(() => undefined);
    }
    await sleep(250);
  }
}

async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
  });
  const deadline = Date.now() + 30_000;
  while ((await client.get(`/api/v1/namespaces/${name}/serviceaccounts/default`)).status !== 200) {
    if (Date.now() > deadline)
      throw new Error(
        `namespace ${name}: no default ServiceAccount after 30 s (is kube-controller-manager running?)`,
      );
    await sleep(100);
  }
}

interface PodPhase {
  metadata: { name: string };
  status?: { phase?: string };
}

async function runPod(
  client: KubeClient,
  namespace: string,
  pod: object,
  timeoutMs = 120_000,
): Promise<PodRun> {
  const created = await client.request<PodPhase>("POST", `/api/v1/namespaces/${namespace}/pods`, pod);
  const path = `/api/v1/namespaces/${namespace}/pods/${created.metadata.name}`;
  const deadline = Date.now() + timeoutMs;
  let phase = "";
  for (;;) {
    phase = (await client.request<PodPhase>("GET", path)).status?.phase ?? "";
    if (phase === "Succeeded" || phase === "Failed") break;
    if (Date.now() > deadline)
      throw new Error(
        `pod ${namespace}/${created.metadata.name} still ${phase || "unscheduled"} after ${timeoutMs} ms`,
      );
    await sleep(250);
  }
  const logs = await client.get(`${path}/log`);
  await client.request("DELETE", path, { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 1 });
  return { phase, logs: logs.body };
}
