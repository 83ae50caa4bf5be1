// The ServiceAccountApi over a real API server: list and get through client-node 1.x, the watch as a raw stream.

import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import {
  ApiException,
  type ConfigurationOptions,
  CoreV1Api,
  KubeConfig,
  Observable,
} from "@kubernetes/client-node";
import {
  type RawServiceAccount,
  type ServiceAccountApi,
  ServiceAccountApiError,
  type ServiceAccountWatchEvent,
  type WatchHandle,
  type WatchRequest,
} from "./api.js";

/** The kubeconfig at `path`, or the in-cluster configuration (the pod's ServiceAccount) without one. */
export function kubeConfigFor(path: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path !== undefined && path !== "") kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromCluster();
  return kubeConfig;
}

/** Needs get, list and watch on serviceaccounts in all namespaces. */
export function createKubeServiceAccountApi(kubeConfig: KubeConfig): ServiceAccountApi {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    async list(request, signal) {
      const { limit } = request;
      const page = request.continue === undefined ? { limit } : { limit, _continue: request.continue };
      try {
        const list = await core.listServiceAccountForAllNamespaces(page, withSignal(signal));
        return {
          items: list.items,
          resourceVersion: list.metadata?.resourceVersion ?? "",
          continue: list.metadata?._continue || undefined,
        };
      } catch (error) {
        throw apiError(error, "list ServiceAccounts in all namespaces");
      }
    },

    async get(namespace, name, signal) {
      try {
        return await core.readNamespacedServiceAccount({ namespace, name }, withSignal(signal));
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return undefined;
        throw apiError(error, `get ServiceAccount ${namespace}/${name}`);
      }
    },

    watch: (request, onEvent, onDone) => watchServiceAccounts(kubeConfig, request, onEvent, onDone),
  };
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

function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (context) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}

function apiError(error: unknown, request: string): ServiceAccountApiError {
  if (error instanceof ApiException)
    return new ServiceAccountApiError(
      `${request}: HTTP ${error.code}${statusMessage(error.body)}`,
      error.code,
      {
        cause: error,
      },
    );
  const message = error instanceof Error ? error.message : String(error);
  return new ServiceAccountApiError(`${request}: ${message}`, undefined, { cause: error });
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
