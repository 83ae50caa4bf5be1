// How `serve` reaches the API server: in-cluster or a kubeconfig, read here; client-node only for what we do not read.

import { readFile } from "node:fs/promises";
import type { RequestOptions } from "node:https";
import { inClusterSettings, serviceAccountDirectory } from "./in-cluster.js";
import { connectionFromSettings } from "./settings.js";

/**
 * Why not @kubernetes/client-node's KubeConfig: its module imports every generated API model (dist/config.js
 * imports dist/gen/index.js), which costs about 75 MiB of resident memory, more than the rest of the webhook at
 * rest (about 70 MiB) and far more than a cache of 100,000 ServiceAccounts (about 30 MiB). The in-cluster
 * configuration and plain kubeconfigs are read here; anything else is handed to client-node, loaded only then.
 */
export interface KubeConnection {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  /** For the log: `in-cluster`, `kubeconfig PATH`, or `kubeconfig PATH through @kubernetes/client-node (why)`. */
  readonly origin: string;
  /**
   * TLS and authorization options for the next request (with files re-read now and then). An `agent` is set
   * only when requests must go through it (a proxy); otherwise the caller brings its own.
   */
  requestOptions(): Promise<RequestOptions>;
}

export interface ConnectionEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The pod's ServiceAccount files (token, ca.crt); the default is where kubelet mounts them. */
  readonly serviceAccountDirectory?: string;
}

/** The connection the kubeconfig at `path` describes, or the in-cluster one (the pod's ServiceAccount) without a path. */
export async function loadKubeConnection(
  path: string | undefined,
  environment: ConnectionEnvironment,
): Promise<KubeConnection> {
  if (path === undefined || path === "") {
    const directory = environment.serviceAccountDirectory ?? serviceAccountDirectory;
    return connectionFromSettings(inClusterSettings(environment.env, directory));
  }
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`cannot read kubeconfig ${path} (${reason})`, { cause: error });
  }
  // Imported here: a webhook in its cluster never reads a kubeconfig, nor loads the YAML parser for one.
  const { kubeconfigSettings } = await import("./kubeconfig.js");
  const reading = kubeconfigSettings(text, path);
  if ("settings" in reading) return connectionFromSettings(reading.settings);
  const { clientNodeConnection } = await import("./client-node.js");
  return clientNodeConnection(path, reading.delegateBecause);
}
