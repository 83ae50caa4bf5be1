// Starts a real control plane (etcd + kube-apiserver, no scheduler, controllers or kubelet) for e2e tests.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../support/ports.js";
import { type ApiServerConfig, startApiServer } from "./apiserver.js";
import { ensureClusterBinaries } from "./binaries.js";
import { type Etcd, startEtcd } from "./etcd.js";
import { createKubeClient, createNamespace, type KubeClient, type KubeCredentials } from "./kube.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { createClusterPki } from "./pki.js";
import type { ManagedProcess } from "./process.js";

export interface TestCluster {
  /** Admin kubeconfig (CN=admin, O=system:masters). */
  kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** --service-account-issuer, the `iss` of every ServiceAccount token. */
  issuer: string;
  apiAudiences: string[];
  saSigningKeyPath: string;
  saPublicKeyPath: string;
  caCertPem: string;
  credentials: KubeCredentials;
  client: KubeClient;
  /** Temp dir with certificates, etcd data and the logs etcd.log and kube-apiserver.log; removed by stop(). */
  dir: string;
  /** Creates a namespace and its `default` ServiceAccount, so pods can be created in it. */
  createNamespace(name: string): Promise<void>;
  /** The PIDs of the running processes, undefined once a process has exited. */
  pids(): { etcd: number | undefined; apiServer: number | undefined };
  stopApiServer(): Promise<void>;
  /** Starts the API server again on the same port, etcd and keys, and waits for /readyz. */
  startApiServer(): Promise<void>;
  /** Stops both processes and removes dir; safe to call more than once. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Defaults to https://issuer.example.test */
  issuer?: string;
  /**
   * Defaults to the issuer alone, as docs/self-hosted.md advises: with sts.amazonaws.com in it, the API
   * server would accept tokens meant for AWS as its own.
   */
  apiAudiences?: string[];
}

const defaultIssuer = "https://issuer.example.test";

/** Builds the binaries if needed, then starts etcd and kube-apiserver in a fresh temp dir. */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const binaries = await ensureClusterBinaries();
  const dir = await mkdtemp(join(tmpdir(), "web-identity-webhook-e2e-"));
  const issuer = options.issuer ?? defaultIssuer;
  const apiAudiences = options.apiAudiences ?? [issuer];

  let etcd: Etcd | undefined;
  let apiServer: ManagedProcess | undefined;
  const stopAll = async (): Promise<void> => {
    await apiServer?.stop();
    await etcd?.process.stop();
  };

  try {
    const pki = await createClusterPki(dir);
    const server = `https://127.0.0.1:${await freePort()}`;
    const credentials: KubeCredentials = {
      server,
      caCertPem: pki.caCertPem,
      clientCertPem: pki.adminCertPem,
      clientKeyPem: pki.adminKeyPem,
    };
    const kubeconfigPath = join(dir, "kubeconfig");
    await writeKubeconfig(kubeconfigPath, credentials);
    const client = createKubeClient(credentials);

    const startedEtcd = await startEtcd(binaries.etcd, dir);
    etcd = startedEtcd;
    const apiServerConfig: ApiServerConfig = {
      binary: binaries.kubeApiServer,
      dir,
      port: Number(new URL(server).port),
      etcdEndpoint: startedEtcd.endpoint,
      pki,
      issuer,
      apiAudiences,
    };
    apiServer = await startApiServer(apiServerConfig, client);

    let stopped = false;
    return {
      kubeconfigPath,
      server,
      issuer,
      apiAudiences,
      saSigningKeyPath: pki.saSigningKeyPath,
      saPublicKeyPath: pki.saPublicKeyPath,
      caCertPem: pki.caCertPem,
      credentials,
      client,
      dir,
      createNamespace: (name) => createNamespace(client, name),
      pids: () => ({
        etcd: startedEtcd.process.isRunning() ? startedEtcd.process.pid : undefined,
        apiServer: apiServer?.isRunning() ? apiServer.pid : undefined,
      }),
      async stopApiServer() {
        await apiServer?.stop();
      },
      async startApiServer() {
        if (apiServer?.isRunning())
          throw new Error("kube-apiserver is already running; call stopApiServer() first");
        apiServer = await startApiServer(apiServerConfig, client);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    // Keep dir: its logs are how the failure gets diagnosed.
    await stopAll();
    throw error;
  }
}
