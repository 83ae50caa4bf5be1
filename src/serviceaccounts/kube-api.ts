// The ServiceAccountApi over a real API server: list and get as raw requests on kept-alive connections, the watch as a raw stream.

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import {
  type RawServiceAccount,
  type ServiceAccountApi,
  ServiceAccountApiError,
  type ServiceAccountPage,
  type ServiceAccountWatchEvent,
  type WatchHandle,
  type WatchRequest,
} from "./api.js";

/**
 * Every API request this client makes, as RBAC rules (list and watch feed the cache, get serves a miss), in all
 * namespaces: the chart's ClusterRole grants exactly this (test/chart/rbac.test.ts).
 */
export const requiredPermissions = [
  {
    apiGroup: "",
    resource: "serviceaccounts",
    verbs: ["get", "list", "watch"],
    scope: "cluster",
    ownObjectOnly: false,
  },
] as const;

/** The kubeconfig at `path`, or the in-cluster configuration (the pod's ServiceAccount) without one. */
export function kubeConfigFor(path: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path !== undefined && path !== "") kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromCluster();
  return kubeConfig;
}

/**
 * List pages and live GETs share a few kept-alive connections, so a cache miss does not pay a TLS handshake.
 * An idle connection is closed after 30 s, well before the API server's own idle timeout (90 s), so we
 * seldom send on a connection the server is closing.
 */
const keepAlive = { keepAlive: true, maxSockets: 4, maxFreeSockets: 4, timeout: 30_000 } as const;

/** Errors of a kept-alive connection the server closed under us; a GET sent on one is safe to send again. */
const closedConnectionCodes: ReadonlySet<string> = new Set(["ECONNRESET", "EPIPE"]);

/** Needs get, list and watch on serviceaccounts in all namespaces. */
export function createKubeServiceAccountApi(kubeConfig: KubeConfig): ServiceAccountApi {
  const agents = { http: new HttpAgent(keepAlive), https: new HttpsAgent(keepAlive) };
  const getJson = (path: string, signal: AbortSignal) => requestJson(kubeConfig, agents, path, signal);
  return {
    async list(request, signal) {
      const what = "list ServiceAccounts in all namespaces";
      const query = new URLSearchParams();
      if (request.continue !== undefined) query.set("continue", request.continue);
      query.set("limit", String(request.limit));
      const answer = await getJson(`/api/v1/serviceaccounts?${query}`, signal).catch(failedTo(what));
      if (answer.status !== 200) throw statusError(what, answer);
      return servicePage(answer.body, what);
    },

    async get(namespace, name, signal) {
      const what = `get ServiceAccount ${namespace}/${name}`;
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}`;
      const answer = await getJson(path, signal).catch(failedTo(what));
      if (answer.status === 404) return undefined;
      if (answer.status !== 200) throw statusError(what, answer);
      const parsed = parsedJson(answer.body, what);
      if (!isObject(parsed)) throw new ServiceAccountApiError(`${what}: the answer is not an object`, 200);
      return parsed as RawServiceAccount;
    },

    watch: (request, onEvent, onDone) => watchServiceAccounts(kubeConfig, request, onEvent, onDone),
  };
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * One GET, answered with its status and body. Sent once more, within the same signal, when a kept-alive
 * connection turns out to have been closed by the server (Node's advice for idempotent requests).
 */
async function requestJson(
  kubeConfig: KubeConfig,
  agents: { readonly http: HttpAgent; readonly https: HttpsAgent },
  path: string,
  signal: AbortSignal,
): Promise<Answer> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (server === undefined)
    throw new ServiceAccountApiError("the kubeconfig has no current cluster", undefined);
  const url = new URL(`${server.replace(/\/+$/, "")}${path}`);
  // Read each time: the token file of an in-cluster ServiceAccount is rotated.
  const options: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const plain = url.protocol === "http:";
  // A proxy needs the agent client-node made for it; without one, ours keeps connections alive.
  if (kubeConfig.getCurrentCluster()?.proxyUrl === undefined)
    options.agent = plain ? agents.http : agents.https;
  const send = plain ? httpRequest : httpsRequest;
  const sendOptions: RequestOptions = {
    ...options,
    method: "GET",
    headers: { ...options.headers, accept: "application/json" },
    signal,
  };
  try {
    return await sendOnce(send, url, sendOptions);
  } catch (error) {
    if (!(error instanceof ClosedConnectionError) || signal.aborted) throw unwrapped(error);
    return sendOnce(send, url, sendOptions).catch((again: unknown) => {
      throw unwrapped(again);
    });
  }
}

/** A request that failed on a reused connection with a reset or broken pipe. */
class ClosedConnectionError extends Error {}

function sendOnce(send: typeof httpsRequest, url: URL, options: RequestOptions): Promise<Answer> {
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
    request.end();
  });
}

function unwrapped(error: unknown): unknown {
  return error instanceof ClosedConnectionError ? error.cause : error;
}

function failedTo(what: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof ServiceAccountApiError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ServiceAccountApiError(`${what}: ${message}`, undefined, { cause: error });
  };
}

function statusError(what: string, answer: Answer): ServiceAccountApiError {
  return new ServiceAccountApiError(
    `${what}: HTTP ${answer.status}${statusMessage(answer.body)}`,
    answer.status,
  );
}

function parsedJson(body: string, what: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new ServiceAccountApiError(`${what}: the answer is not JSON: ${(error as Error).message}`, 200, {
      cause: error,
    });
  }
}

function servicePage(body: string, what: string): ServiceAccountPage {
  const list = parsedJson(body, what);
  if (!isObject(list) || !Array.isArray(list.items))
    throw new ServiceAccountApiError(`${what}: the answer is not a list`, 200);
  const metadata = isObject(list.metadata) ? list.metadata : {};
  const resourceVersion = typeof metadata.resourceVersion === "string" ? metadata.resourceVersion : "";
  const next =
    typeof metadata.continue === "string" && metadata.continue !== "" ? metadata.continue : undefined;
  return { items: list.items as RawServiceAccount[], resourceVersion, continue: next };
}

/**
 * A raw request rather than client-node's Watch: it can be aborted before the response headers arrive, keeps
 * the body of an error status, and reports an unreadable line instead of skipping it.
 */
async function watchServiceAccounts(
  kubeConfig: KubeConfig,
  { resourceVersion, timeoutSeconds }: WatchRequest,
  onEvent: (event: ServiceAccountWatchEvent) => void,
  onDone: (error?: Error) => void,
): Promise<WatchHandle> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (server === undefined)
    throw new ServiceAccountApiError("the kubeconfig has no current cluster", undefined);
  const url = new URL(`${server.replace(/\/+$/, "")}/api/v1/serviceaccounts`);
  url.searchParams.set("watch", "true");
  url.searchParams.set("allowWatchBookmarks", "true");
  url.searchParams.set("resourceVersion", resourceVersion);
  url.searchParams.set("timeoutSeconds", String(timeoutSeconds));
  const options: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);

  const controller = new AbortController();
  let finished = false;
  let aborted = false;
  const finish = (error?: Error) => {
    if (finished) return;
    finished = true;
    controller.abort();
    if (!aborted) onDone(error);
  };
  const failed = (message: string) => (cause: Error) =>
    finish(
      new ServiceAccountApiError(`watch ServiceAccounts: ${message}: ${cause.message}`, undefined, { cause }),
    );

  const request = (url.protocol === "http:" ? httpRequest : httpsRequest)(
    url,
    {
      ...options,
      method: "GET",
      headers: { ...options.headers, accept: "application/json" },
      signal: controller.signal,
    },
    (response) => {
      if (response.statusCode !== 200) {
        readErrorStatus(response, (message) =>
          finish(new ServiceAccountApiError(`watch ServiceAccounts: ${message}`, response.statusCode)),
        );
        return;
      }
      readEvents(response, onEvent, finish);
      response.on("end", () => finish());
      response.on("error", failed("the stream broke"));
      response.on("close", () =>
        finish(
          new ServiceAccountApiError("watch ServiceAccounts: the connection closed mid-stream", undefined),
        ),
      );
    },
  );
  request.on("error", failed("request failed"));
  request.end();
  return {
    abort() {
      aborted = true;
      finish();
    },
  };
}

/** Splits the stream into lines, one JSON event each, and passes them on. */
function readEvents(
  response: IncomingMessage,
  onEvent: (event: ServiceAccountWatchEvent) => void,
  finish: (error?: Error) => void,
): void {
  response.setEncoding("utf8");
  let pending = "";
  response.on("data", (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() !== "") {
        const event = watchEvent(line);
        if (event === undefined) {
          finish(
            new ServiceAccountApiError(
              `watch ServiceAccounts: unreadable event ${line.slice(0, 200)}`,
              undefined,
            ),
          );
          response.destroy();
          return;
        }
        if (event !== null) onEvent(event);
      }
      newline = pending.indexOf("\n");
    }
  });
}

/** The event on one line; null for a type we ignore, undefined when the line is not an event. */
function watchEvent(line: string): ServiceAccountWatchEvent | null | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || typeof parsed.type !== "string" || !isObject(parsed.object)) return undefined;
  const { type, object } = parsed;
  switch (type) {
    case "ADDED":
    case "MODIFIED":
    case "DELETED":
      return { type, object: object as RawServiceAccount };
    case "BOOKMARK": {
      const metadata = object.metadata;
      const resourceVersion = isObject(metadata) ? metadata.resourceVersion : undefined;
      return { type, resourceVersion: typeof resourceVersion === "string" ? resourceVersion : "" };
    }
    case "ERROR":
      return {
        type,
        code: typeof object.code === "number" ? object.code : undefined,
        message: typeof object.message === "string" ? object.message : JSON.stringify(object),
      };
    default:
      return null;
  }
}

/** `HTTP 410 (message)` from an error response, reading at most 64 KiB of its body. */
function readErrorStatus(response: IncomingMessage, done: (message: string) => void): void {
  let body = "";
  response.setEncoding("utf8");
  response.on("data", (chunk: string) => {
    if (body.length < 65_536) body += chunk;
  });
  response.on("end", () => done(`HTTP ${response.statusCode}${statusMessage(body)}`));
  response.on("error", () => done(`HTTP ${response.statusCode}`));
}

/** ` (message)` from a Kubernetes Status body, or nothing. */
function statusMessage(body: unknown): string {
  let status: unknown = body;
  if (typeof body === "string") {
    try {
      status = JSON.parse(body);
    } catch {
      return "";
    }
  }
  return isObject(status) && typeof status.message === "string" ? ` (${status.message})` : "";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
