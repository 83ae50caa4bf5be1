// The ServiceAccountApi over a real API server: list and get as raw requests on kept-alive connections, the watch as a raw stream.

import type { IncomingMessage } from "node:http";
import type { KubeConnection } from "../kube/connection.js";
import { describeStatus, type KubeAnswer, KubeClient, readErrorStatus, readLines } from "../kube/request.js";
import {
  type RawServiceAccount,
  type ServiceAccountApi,
  ServiceAccountApiError,
  type ServiceAccountPage,
  type WatchEvent,
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

/** Needs get, list and watch on serviceaccounts in all namespaces. */
export function createKubeServiceAccountApi(connection: KubeConnection): ServiceAccountApi {
  const client = new KubeClient(connection);
  const getJson = (path: string, signal: AbortSignal) => client.send({ method: "GET", path, signal });
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

    watch: (request, onEvent, onDone) =>
      watchStream(
        client,
        { path: "/api/v1/serviceaccounts", what: "watch ServiceAccounts" },
        request,
        onEvent,
        onDone,
      ),
  };
}

export function failedTo(what: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof ServiceAccountApiError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ServiceAccountApiError(`${what}: ${message}`, undefined, { cause: error });
  };
}

export function statusError(what: string, answer: KubeAnswer): ServiceAccountApiError {
  return new ServiceAccountApiError(`${what}: ${describeStatus(answer.status, answer.body)}`, answer.status);
}

export function parsedJson(body: string, what: string): unknown {
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

/** Where a watch reads: the collection path, extra query (e.g. a fieldSelector), and what errors call it. */
export interface WatchTarget {
  readonly path: string;
  readonly what: string;
  readonly query?: Readonly<Record<string, string>>;
}

/**
 * A raw request rather than client-node's Watch: it can be aborted before the response headers arrive, keeps
 * the body of an error status, and reports an unreadable line instead of skipping it.
 */
export async function watchStream<T>(
  client: KubeClient,
  { path, what, query: extraQuery }: WatchTarget,
  { resourceVersion, timeoutSeconds }: WatchRequest,
  onEvent: (event: WatchEvent<T>) => void,
  onDone: (error?: Error) => void,
): Promise<WatchHandle> {
  const query = new URLSearchParams({
    ...extraQuery,
    watch: "true",
    allowWatchBookmarks: "true",
    resourceVersion,
    timeoutSeconds: String(timeoutSeconds),
  });

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
    finish(new ServiceAccountApiError(`${what}: ${message}: ${cause.message}`, undefined, { cause }));

  const request = await client.open(`${path}?${query}`, controller.signal, (response) => {
    if (response.statusCode !== 200) {
      readErrorStatus(response, (message) =>
        finish(new ServiceAccountApiError(`${what}: ${message}`, response.statusCode)),
      );
      return;
    }
    readEvents(response, what, onEvent, finish);
    response.on("end", () => finish());
    response.on("error", failed("the stream broke"));
    response.on("close", () =>
      finish(new ServiceAccountApiError(`${what}: the connection closed mid-stream`, undefined)),
    );
  });
  request.on("error", failed("request failed"));
  return {
    abort() {
      aborted = true;
      finish();
    },
  };
}

/** Passes on each line of the stream as a watch event; an unreadable line ends the watch with an error. */
function readEvents<T>(
  response: IncomingMessage,
  what: string,
  onEvent: (event: WatchEvent<T>) => void,
  finish: (error?: Error) => void,
): void {
  readLines(response, (line) => {
    const event = watchEvent<T>(line);
    if (event === undefined) {
      finish(new ServiceAccountApiError(`${what}: unreadable event ${line.slice(0, 200)}`, undefined));
      response.destroy();
      return false;
    }
    if (event !== null) onEvent(event);
    return true;
  });
}

/** The event on one line; null for a type we ignore, undefined when the line is not an event. */
function watchEvent<T>(line: string): WatchEvent<T> | null | undefined {
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
      return { type, object: object as T };
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

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
