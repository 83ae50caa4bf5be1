// The kubeconfigs we do not read ourselves (exec and auth-provider plugins, proxies, ...), through @kubernetes/client-node.
// Imported only for them: client-node costs about 75 MiB of resident memory (see connection.ts).

import type { RequestOptions } from "node:https";
import type { KubeConnection } from "./connection.js";

/** The current context of the kubeconfig at `path`, as client-node reads and authenticates it. */
export async function clientNodeConnection(path: string, because: string): Promise<KubeConnection> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null)
    throw new Error(`kubeconfig ${path}: the current context names no cluster it defines`);
  return {
    server: cluster.server.replace(/\/+$/, ""),
    origin: `kubeconfig ${path} through @kubernetes/client-node (${because})`,
    async requestOptions() {
      const options: RequestOptions = {};
      // Runs the exec plugin (or refreshes the auth-provider's token) when its credential expired.
      await kubeConfig.applyToHTTPSOptions(options);
      // client-node makes a new agent per call; only a proxy needs it, otherwise ours keeps connections alive.
      if (cluster.proxyUrl === undefined) delete options.agent;
      return options;
    },
  };
}
