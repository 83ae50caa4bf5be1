// A mock kube API server (not the real one): lists, watches and GETs ServiceAccounts from memory over HTTPS.

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import {
  asObject,
  lateNamePrefix,
  lateServiceAccount,
  type ServiceAccountList,
} from "./fake-serviceaccounts.js";

export interface FakeKubeApiOptions {
  readonly certPem: string;
  readonly keyPem: string;
  readonly serviceAccounts: ServiceAccountList;
  /** Milliseconds between BOOKMARK events on watches that allow them. */
  readonly bookmarkIntervalMs: number;
}

/** What the mock saw, for the report and for timing readiness. */
export interface FakeKubeApiStats {
  listPages: number;
  /** Epoch milliseconds (sub-millisecond) when the last page of a list, or the initial events of a watch, was sent. */
  lastListPageSentAt: number | undefined;
  watches: number;
  gets: number;
  /** TLS connections clients opened; far more than requests/keep-alive would need means no connection reuse. */
  connections: number;
  /** Requests for anything else, "METHOD path": the report names them so a changed client is noticed. */
  unexpected: string[];
}

export interface FakeKubeApi {
  readonly url: string;
  readonly stats: FakeKubeApiStats;
  /** Delay of every single-object GET, to play a slow API server. */
  getDelayMs: number;
  /** Replaces the ServiceAccounts served from now on (the next list sees them). */
  setServiceAccounts(serviceAccounts: ServiceAccountList): void;
  resetStats(): void;
  close(): Promise<void>;
}

const serviceAccountsPath = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?serviceaccounts(?:\/([^/]+))?$/;

/** Epoch milliseconds with the monotonic clock's resolution. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

function freshStats(): FakeKubeApiStats {
  return { listPages: 0, lastListPageSentAt: undefined, watches: 0, gets: 0, connections: 0, unexpected: [] };
}

function sendJson(res: ServerResponse, status: number, body: string, onSent?: () => void): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": bytes.length });
  if (onSent !== undefined) res.once("finish", onSent);
  res.end(bytes);
}

function status(code: number, reason: string, message: string): string {
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  });
}

/** Starts the mock on 127.0.0.1 on a free port. */
export async function startFakeKubeApi(options: FakeKubeApiOptions): Promise<FakeKubeApi> {
  let serviceAccounts = options.serviceAccounts;
  const watches = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  let address = "";
  const api: FakeKubeApi = {
    get url() {
      return address;
    },
    stats: freshStats(),
    getDelayMs: 0,
    setServiceAccounts(next) {
      serviceAccounts = next;
    },
    resetStats() {
      Object.assign(api.stats, freshStats());
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const res of watches) res.end();
      watches.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const itemsIn = (namespace: string | undefined): readonly string[] =>
    namespace === undefined
      ? serviceAccounts.items
      : serviceAccounts.items.filter((item) => item.includes(`"namespace":${JSON.stringify(namespace)}`));

  function list(res: ServerResponse, query: URLSearchParams, namespace: string | undefined): void {
    const items = itemsIn(namespace);
    const limit = Number(query.get("limit") ?? "0");
    const start = Number(Buffer.from(query.get("continue") ?? "", "base64url").toString() || "0");
    const end = limit > 0 ? Math.min(items.length, start + limit) : items.length;
    const metadata: Record<string, unknown> = { resourceVersion: serviceAccounts.resourceVersion };
    if (end < items.length) {
      metadata.continue = Buffer.from(String(end)).toString("base64url");
      metadata.remainingItemCount = items.length - end;
    }
    const body = `{"kind":"ServiceAccountList","apiVersion":"v1","metadata":${JSON.stringify(metadata)},"items":[${items.slice(start, end).join(",")}]}`;
    api.stats.listPages++;
    sendJson(res, 200, body, () => {
      if (end >= items.length) api.stats.lastListPageSentAt = epochNow();
    });
  }

  function bookmark(): string {
    return `{"type":"BOOKMARK","object":{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"resourceVersion":"${serviceAccounts.resourceVersion}"}}}\n`;
  }

  function watch(
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
    namespace: string | undefined,
  ): void {
    api.stats.watches++;
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    watches.add(res);
    if (query.get("sendInitialEvents") === "true") {
      // Watch-list: every object as ADDED, then a bookmark that marks the end of the initial events.
      for (const item of itemsIn(namespace)) res.write(`{"type":"ADDED","object":${asObject(item)}}\n`);
      res.write(
        `{"type":"BOOKMARK","object":{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"resourceVersion":"${serviceAccounts.resourceVersion}","annotations":{"k8s.io/initial-events-end":"true"}}}}\n`,
        () => {
          api.stats.lastListPageSentAt = epochNow();
        },
      );
    }
    const bookmarks =
      query.get("allowWatchBookmarks") === "true"
        ? setInterval(() => res.write(bookmark()), options.bookmarkIntervalMs)
        : undefined;
    if (bookmarks !== undefined) timers.add(bookmarks);
    const timeoutSeconds = Number(query.get("timeoutSeconds") ?? "0");
    const timeout = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
    if (timeout !== undefined) timers.add(timeout);
    const done = (): void => {
      watches.delete(res);
      if (bookmarks !== undefined) {
        clearInterval(bookmarks);
        timers.delete(bookmarks);
      }
      if (timeout !== undefined) {
        clearTimeout(timeout);
        timers.delete(timeout);
      }
    };
    res.once("close", done);
    req.once("close", done);
  }

  function get(res: ServerResponse, namespace: string, name: string): void {
    api.stats.gets++;
    const answer = (): void => {
      const index = serviceAccounts.byKey.get(`${namespace}/${name}`);
      const item = index === undefined ? undefined : serviceAccounts.items[index];
      if (item !== undefined) sendJson(res, 200, asObject(item));
      else if (name.startsWith(lateNamePrefix)) sendJson(res, 200, lateServiceAccount(namespace, name));
      else sendJson(res, 404, status(404, "NotFound", `serviceaccounts "${name}" not found`));
    };
    if (api.getDelayMs <= 0) {
      answer();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer();
    }, api.getDelayMs);
    timers.add(timer);
  }

  const server: Server = createServer({ cert: options.certPem, key: options.keyPem }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const match = req.method === "GET" ? serviceAccountsPath.exec(url.pathname) : null;
    if (match === null) {
      api.stats.unexpected.push(`${req.method} ${url.pathname}`);
      sendJson(
        res,
        404,
        status(404, "NotFound", `the mock kube API serves only ServiceAccounts, not ${url.pathname}`),
      );
      return;
    }
    const [, namespace, name] = match;
    const watching = url.searchParams.get("watch");
    if (name !== undefined && namespace !== undefined) get(res, namespace, name);
    else if (watching === "true" || watching === "1") watch(req, res, url.searchParams, namespace);
    else list(res, url.searchParams, namespace);
  });
  server.keepAliveTimeout = 60_000;
  server.on("secureConnection", () => {
    api.stats.connections++;
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  address = `https://127.0.0.1:${port}`;
  return api;
}
