// A kubeconfig's current context → ConnectionSettings, or the reason it needs @kubernetes/client-node instead.

import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";
import type { ConnectionSettings, Material } from "./settings.js";

export type KubeconfigReading =
  | { readonly settings: ConnectionSettings }
  /** The current user or cluster uses something read only by client-node, e.g. `user "eks" runs an exec plugin`. */
  | { readonly delegateBecause: string };

/** Cluster fields read here; `extensions` and `disable-compression` change nothing for our requests. */
const clusterFields: ReadonlySet<string> = new Set([
  "server",
  "certificate-authority",
  "certificate-authority-data",
  "insecure-skip-tls-verify",
  "tls-server-name",
  "extensions",
  "disable-compression",
]);

/** User fields read here; `token-file` is what client-node read, `tokenFile` what kubectl reads. */
const userFields: ReadonlySet<string> = new Set([
  "token",
  "tokenFile",
  "token-file",
  "client-certificate",
  "client-certificate-data",
  "client-key",
  "client-key-data",
  "extensions",
]);

/** Why client-node must handle a field (any other unknown field is delegated too, to be safe). */
const delegatedFields: Readonly<Record<string, string>> = {
  exec: "runs an exec plugin",
  "auth-provider": "uses an auth-provider plugin",
  username: "uses a username and password",
  password: "uses a username and password",
  as: "impersonates a user",
  "proxy-url": "goes through a proxy",
};

/**
 * Reads the current context of a kubeconfig document at `path` (relative file names are relative to it). Throws
 * when the context, its cluster or its user is missing, naming what is missing.
 */
export function kubeconfigSettings(text: string, path: string): KubeconfigReading {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new Error(`kubeconfig ${path} is not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  const config = isObject(document) ? document : {};
  const currentContext = config["current-context"];
  if (typeof currentContext !== "string" || currentContext === "")
    throw new Error(
      `kubeconfig ${path} has no current-context: choose one (kubectl config use-context NAME)`,
    );
  const context = named(config.contexts, currentContext, "context");
  if (context === undefined)
    throw new Error(`kubeconfig ${path}: its current-context "${currentContext}" is not among its contexts`);
  const clusterName = context.cluster;
  if (typeof clusterName !== "string" || clusterName === "")
    throw new Error(`kubeconfig ${path}: context "${currentContext}" names no cluster`);
  const cluster = named(config.clusters, clusterName, "cluster");
  if (cluster === undefined)
    throw new Error(
      `kubeconfig ${path}: context "${currentContext}" names cluster "${clusterName}", which it does not define`,
    );
  const userName = context.user;
  const hasUser = typeof userName === "string" && userName !== "";
  const user = hasUser ? named(config.users, userName, "user") : {};
  if (user === undefined)
    throw new Error(
      `kubeconfig ${path}: context "${currentContext}" names user "${userName}", which it does not define`,
    );

  const clusterLabel = `cluster "${clusterName}"`;
  const userLabel = hasUser ? `user "${userName}"` : "the user";
  const delegation =
    delegationOf(cluster, clusterFields, clusterLabel) ?? delegationOf(user, userFields, userLabel);
  if (delegation !== undefined) return { delegateBecause: delegation };

  const server = cluster.server;
  if (typeof server !== "string" || !URL.canParse(server))
    throw new Error(
      `kubeconfig ${path}: ${clusterLabel} has no server URL (server: ${JSON.stringify(server)})`,
    );
  const directory = dirname(path);
  const material = (
    from: Record<string, unknown>,
    label: string,
    fileField: string,
    dataField: string,
  ): Material | undefined => {
    // A file wins over inline data, as in client-node.
    const file = from[fileField];
    if (typeof file === "string" && file !== "")
      return { file: isAbsolute(file) ? file : join(directory, file), what: `${label} ${fileField}` };
    const data = from[dataField];
    if (typeof data === "string" && data !== "") return { inline: Buffer.from(data, "base64") };
    return undefined;
  };
  const certificateAuthority = material(
    cluster,
    clusterLabel,
    "certificate-authority",
    "certificate-authority-data",
  );
  const clientCertificate = material(user, userLabel, "client-certificate", "client-certificate-data");
  const clientKey = material(user, userLabel, "client-key", "client-key-data");
  const token = tokenOf(user, userLabel, directory);
  const tlsServerName = cluster["tls-server-name"];
  return {
    settings: {
      server: server.replace(/\/+$/, ""),
      origin: `kubeconfig ${path}`,
      ...(certificateAuthority !== undefined ? { certificateAuthority } : {}),
      ...(cluster["insecure-skip-tls-verify"] === true ? { insecureSkipTlsVerify: true } : {}),
      ...(typeof tlsServerName === "string" && tlsServerName !== "" ? { tlsServerName } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(clientCertificate !== undefined ? { clientCertificate } : {}),
      ...(clientKey !== undefined ? { clientKey } : {}),
    },
  };
}

/** An inline token wins over a token file, as in client-node. */
function tokenOf(user: Record<string, unknown>, label: string, directory: string): Material | undefined {
  if (typeof user.token === "string" && user.token !== "") return { inline: Buffer.from(user.token, "utf8") };
  for (const field of ["tokenFile", "token-file"]) {
    const file = user[field];
    if (typeof file === "string" && file !== "")
      return { file: isAbsolute(file) ? file : join(directory, file), what: `${label} ${field}` };
  }
  return undefined;
}

function delegationOf(
  entry: Record<string, unknown>,
  known: ReadonlySet<string>,
  label: string,
): string | undefined {
  for (const [field, value] of Object.entries(entry)) {
    if (value === undefined || value === null || known.has(field)) continue;
    return `${label} ${delegatedFields[field] ?? `has the field "${field}"`}`;
  }
  return undefined;
}

/** The `kind` body (context, cluster, user) of the list entry called `name`. */
function named(list: unknown, name: string, kind: string): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  const entry: unknown = list.find((item) => isObject(item) && item.name === name);
  if (!isObject(entry)) return undefined;
  const body = entry[kind];
  return isObject(body) ? body : {};
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
