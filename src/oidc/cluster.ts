// A running cluster's own issuer documents, read through its API server and re-addressed to the public issuer.

import type { KubeConfig } from "@kubernetes/client-node";
import { discoveryDocument, type IssuerDocuments, type IssuerJwk } from "./documents.js";
import { getText } from "./http.js";
import { discoveryPath, jwksPath } from "./issuer.js";

/** The documents as the API server served them, not yet checked. */
export interface ClusterDocuments {
  readonly discovery: unknown;
  readonly jwks: unknown;
}

export interface RebasedDocuments {
  readonly documents: IssuerDocuments;
  /** The issuer the cluster puts in its tokens' `iss`. */
  readonly clusterIssuer: string;
}

export class ClusterExportError extends Error {
  override readonly name = "ClusterExportError";
}

/** GETs /.well-known/openid-configuration and /openid/v1/jwks from the kubeconfig's current cluster, as its user. */
export async function fetchClusterDocuments(
  kubeConfig: KubeConfig,
  timeoutMs: number,
): Promise<ClusterDocuments> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (server === undefined) throw new ClusterExportError("the kubeconfig has no current cluster");
  const get = async (path: string): Promise<unknown> => {
    const url = `${server.replace(/\/+$/, "")}${path}`;
    const options = {};
    await kubeConfig.applyToHTTPSOptions(options);
    let response: Awaited<ReturnType<typeof getText>>;
    try {
      response = await getText(url, options, timeoutMs);
    } catch (error) {
      throw new ClusterExportError(`GET ${url}: ${(error as Error).message}`);
    }
    if (response.status !== 200)
      throw new ClusterExportError(`GET ${url}: HTTP ${response.status}${statusHint(response.status)}`);
    try {
      return JSON.parse(response.body) as unknown;
    } catch {
      throw new ClusterExportError(`GET ${url}: the answer is not JSON`);
    }
  };
  return { discovery: await get(discoveryPath), jwks: await get(jwksPath) };
}

/** The cluster's keys, published under `issuer` (validated): issuer and jwks_uri point at the public location. */
export function rebaseClusterDocuments(issuer: string, cluster: ClusterDocuments): RebasedDocuments {
  const clusterIssuer = isObject(cluster.discovery) ? cluster.discovery.issuer : undefined;
  if (typeof clusterIssuer !== "string") {
    throw new ClusterExportError("the cluster's discovery document has no issuer");
  }
  const keys = isObject(cluster.jwks) ? cluster.jwks.keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isClusterJwk)) {
    throw new ClusterExportError("the cluster's JWKS has no keys, or a key without kty, kid and alg");
  }
  return {
    documents: { discovery: discoveryDocument(issuer, `${issuer}${jwksPath}`, keys), jwks: { keys } },
    clusterIssuer,
  };
}

function statusHint(status: number): string {
  if (status === 401 || status === 403) {
    return " (the kubeconfig's user may not read the issuer documents; use an admin kubeconfig or a user bound to the system:service-account-issuer-discovery ClusterRole)";
  }
  if (status === 404) {
    return " (the API server publishes no issuer documents: set --service-account-issuer to an https URL and --service-account-signing-key-file)";
  }
  return "";
}

function isClusterJwk(value: unknown): value is IssuerJwk {
  return (
    isObject(value) &&
    typeof value.kty === "string" &&
    typeof value.kid === "string" &&
    typeof value.alg === "string"
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
