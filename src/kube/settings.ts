// What a connection to the API server is made of (server, TLS material, token), and its request options, files re-read.

import { readFile } from "node:fs/promises";
import type { RequestOptions } from "node:https";
import type { KubeConnection } from "./connection.js";

/** A value written inline, or a file to read; `what` names the file in errors, e.g. `user "alice" client-key`. */
export type Material = { readonly inline: Buffer } | { readonly file: string; readonly what: string };

/** The parts of a connection this module handles itself, from a kubeconfig or the in-cluster files. */
export interface ConnectionSettings {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  /** Where the settings came from, for the log: `in-cluster`, `kubeconfig /path`. */
  readonly origin: string;
  readonly certificateAuthority?: Material;
  readonly insecureSkipTlsVerify?: boolean;
  readonly tlsServerName?: string;
  readonly token?: Material;
  readonly clientCertificate?: Material;
  readonly clientKey?: Material;
}

/**
 * Files are read again when a request comes a minute or more after the last read, as client-go does: kubelet
 * rotates a pod's bound ServiceAccount token (and may rotate the CA) in place.
 */
export const rereadAfterMs = 60_000;

/** Reads every file of `settings` once (so a missing one fails now, by name), then keeps them fresh. */
export async function connectionFromSettings(
  settings: ConnectionSettings,
  now: () => number = Date.now,
): Promise<KubeConnection> {
  let options = await requestOptionsOf(settings);
  let readAt = now();
  let rereading: Promise<void> | undefined;
  const hasFiles = [
    settings.certificateAuthority,
    settings.token,
    settings.clientCertificate,
    settings.clientKey,
  ].some((material) => material !== undefined && "file" in material);
  return {
    server: settings.server,
    origin: settings.origin,
    async requestOptions() {
      if (hasFiles && now() - readAt >= rereadAfterMs) {
        // A file that cannot be read now keeps its last value, as client-go keeps the last token it read.
        rereading ??= requestOptionsOf(settings)
          .then(
            (fresh) => {
              options = fresh;
            },
            () => {},
          )
          .finally(() => {
            readAt = now();
            rereading = undefined;
          });
        await rereading;
      }
      return options;
    },
  };
}

async function requestOptionsOf(settings: ConnectionSettings): Promise<RequestOptions> {
  const [ca, token, cert, key] = await Promise.all([
    read(settings.certificateAuthority),
    read(settings.token),
    read(settings.clientCertificate),
    read(settings.clientKey),
  ]);
  // client-go trims the token too; a trailing newline would not even be a valid header value.
  const bearer = token?.toString("utf8").trim();
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(settings.insecureSkipTlsVerify === true ? { rejectUnauthorized: false } : {}),
    ...(settings.tlsServerName !== undefined ? { servername: settings.tlsServerName } : {}),
    headers: bearer !== undefined && bearer !== "" ? { authorization: `Bearer ${bearer}` } : {},
  };
}

async function read(material: Material | undefined): Promise<Buffer | undefined> {
  if (material === undefined) return undefined;
  if ("inline" in material) return material.inline;
  try {
    return await readFile(material.file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`cannot read ${material.what} ${material.file} (${reason})`, { cause: error });
  }
}
