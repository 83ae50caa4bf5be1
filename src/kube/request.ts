// Requests to the API server over a KubeConnection: kept-alive connections for short requests, one of its own per watch.

import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from "node:https";
import type { KubeConnection } from "./connection.js";

export interface KubeAnswer {
  readonly status: number;
  readonly body: string;
}

/** JSON text, sent with its content type. */
export interface KubeBody {
  readonly contentType: string;
  readonly text: string;
}

export interface KubeRequest {
  readonly method: "GET" | "POST" | "PATCH";
  /** Path and query under the server URL, e.g. `/api/v1/namespaces/iam/secrets/tls`. */
  readonly path: string;
  readonly signal?: AbortSignal;
  readonly body?: KubeBody;
}

/**
 * Short requests share a few kept-alive connections, so a cache miss does not pay a TLS handshake. An idle
 * connection is closed after 30 s, well before the API server's own idle timeout (90 s), so we seldom send on
 * a connection the server is closing.
 */
const keepAlive = { keepAlive: true, maxSockets: 4, maxFreeSockets: 4, timeout: 30_000 } as const;

/** Errors of a kept-alive connection the server closed under us; a GET sent on one is safe to send again. */
const closedConnectionCodes: ReadonlySet<string> = new Set(["ECONNRESET", "EPIPE"]);

/** Sends requests to the API server of one connection. */
export class KubeClient {
  readonly #connection: KubeConnection;
  readonly #agents = { http: new HttpAgent(keepAlive), https: new HttpsAgent(keepAlive) };

  constructor(connection: KubeConnection) {
    this.#connection = connection;
  }

  /**
   * One request, answered with its status and body. A GET is sent once more, within the same signal, when a
   * kept-alive connection turns out to have been closed by the server (Node's advice for idempotent requests).
   */
  async send(request: KubeRequest): Promise<KubeAnswer> {
    const url = this.#url(request.path);
    const connectionOptions = await this.#connection.requestOptions();
    const plain = url.protocol === "http:";
    const headers: Record<string, string> = { accept: "application/json" };
    if (request.body !== undefined) headers["content-type"] = request.body.contentType;
    const options: RequestOptions = {
      ...connectionOptions,
      agent: connectionOptions.agent ?? (plain ? this.#agents.http : this.#agents.https),
      method: request.method,
      headers: { ...connectionOptions.headers, ...headers },
      ...(request.signal !== undefined ? { signal: request.signal } : {}),
    };
    const send = plain ? httpRequest : httpsRequest;
    try {
      return await sendOnce(send, url, options, request.body?.text);
    } catch (error) {
      if (!(error instanceof ClosedConnectionError) || request.method !== "GET" || request.signal?.aborted)
        throw unwrapped(error);
      return sendOnce(send, url, options, undefined).catch((again: unknown) => {
        throw unwrapped(again);
      });
    }
  }

  /**
   * Opens a long GET (a watch) on a connection of its own, so it never holds one of the kept-alive ones; the
   * response goes to `onResponse`. Abort it through `signal`.
   */
  async open(
    path: string,
    signal: AbortSignal,
    onResponse: (response: IncomingMessage) => void,
  ): Promise<ClientRequest> {
    const url = this.#url(path);
    const connectionOptions = await this.#connection.requestOptions();
    const request = (url.protocol === "http:" ? httpRequest : httpsRequest)(
      url,
      {
        ...connectionOptions,
        agent: connectionOptions.agent ?? false,
        method: "GET",
        headers: { ...connectionOptions.headers, accept: "application/json" },
        signal,
      },
      onResponse,
    );
    request.end();
    return request;
  }

  #url(path: string): URL {
    return new URL(`${this.#connection.server}${path}`);
  }
}

/** A request that failed on a reused connection with a reset or broken pipe. */
class ClosedConnectionError extends Error {}

function sendOnce(
  send: typeof httpsRequest,
  url: URL,
  options: RequestOptions,
  body: string | undefined,
): Promise<KubeAnswer> {
  return new Promise((resolve, reject) => {
    const request = send(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      response.on("error", reject);
    });
    request.on("error", (error: NodeJS.ErrnoException) => {
      const closed =
        request.reusedSocket && error.code !== undefined && closedConnectionCodes.has(error.code);
      reject(closed ? new ClosedConnectionError(error.message, { cause: error }) : error);
    });
    request.end(body);
  });
}

function unwrapped(error: unknown): unknown {
  return error instanceof ClosedConnectionError ? error.cause : error;
}

/** `HTTP 403 (message)`: the status and the message of the API server's Status body, when it has one. */
export function describeStatus(status: number | undefined, body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const message =
    typeof parsed === "object" && parsed !== null && "message" in parsed && typeof parsed.message === "string"
      ? ` (${parsed.message})`
      : "";
  return `HTTP ${status}${message}`;
}

/**
 * `HTTP 410 (message)` for a response that is not the stream asked for, reading at most 64 KiB of its body;
 * `done` is called once, on the body's end or on an error with what had arrived.
 */
export function readErrorStatus(response: IncomingMessage, done: (message: string) => void): void {
  let body = "";
  let called = false;
  const finish = () => {
    if (called) return;
    called = true;
    done(describeStatus(response.statusCode, body));
  };
  response.setEncoding("utf8");
  response.on("data", (chunk: string) => {
    if (body.length < 65_536) body += chunk;
  });
  response.on("end", finish);
  response.on("error", finish);
}

/**
 * Calls `onLine` with each non-empty line of a watch stream (one JSON event per line, split across chunks at
 * any byte). `onLine` returns false to stop reading; the caller then ends the response.
 */
export function readLines(response: IncomingMessage, onLine: (line: string) => boolean): void {
  response.setEncoding("utf8");
  let pending = "";
  let stopped = false;
  response.on("data", (chunk: string) => {
    if (stopped) return;
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() !== "" && onLine(line) === false) {
        stopped = true;
        return;
      }
      newline = pending.indexOf("\n");
    }
  });
}
