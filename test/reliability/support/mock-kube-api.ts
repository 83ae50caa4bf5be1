// A mock kube API server (not the real one) that serves ServiceAccounts over HTTPS and injects faults on
// demand: not listening yet, watches dropped, 410 Gone, slow GETs.

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { KubeConnection } from "../../../src/kube/connection.js";
import { connectionFromSettings } from "../../../src/kube/settings.js";
import { selfSignedPair } from "../../server/support/secret-volume.js";
import { freePort } from "../../support/ports.js";

export interface MockServiceAccount {
  readonly namespace: string;
  readonly name: string;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface MockKubeApiStats {
  lists: number;
  watches: number;
  gets: number;
}

const serviceAccountsPath = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?serviceaccounts(?:\/([^/]+))?$/;

export class MockKubeApi {
  readonly port: number;
  readonly stats: MockKubeApiStats = { lists: 0, watches: 0, gets: 0 };
  /** Delay of every single-ServiceAccount GET. */
  getDelayMs = 0;
  /** How many of the next watch requests are answered with HTTP 410 Gone instead of a stream. */
  goneWatches = 0;
  readonly #certPem: string;
  readonly #server: Server;
  readonly #serviceAccounts = new Map<string, MockServiceAccount>();
  readonly #watches = new Set<ServerResponse>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #resourceVersion = 100;

  private constructor(port: number, certPem: string, keyPem: string) {
    this.port = port;
    this.#certPem = certPem;
    this.#server = createServer({ cert: certPem, key: keyPem }, (req, res) => this.#handle(req, res));
  }

  /** A mock on a port reserved for it, not listening until listen(): until then the API is unreachable. */
  static async create(serviceAccounts: readonly MockServiceAccount[] = []): Promise<MockKubeApi> {
    const pair = await selfSignedPair();
    const api = new MockKubeApi(await freePort(), pair.certPem, pair.keyPem);
    for (const serviceAccount of serviceAccounts) api.#put(serviceAccount);
    return api;
  }

  /** A connection that reaches this mock with a bearer token and trusts its certificate. */
  connection(): Promise<KubeConnection> {
    return connectionFromSettings({
      server: `https://127.0.0.1:${this.port}`,
      origin: "mock kube API",
      certificateAuthority: { inline: Buffer.from(this.#certPem) },
      token: { inline: Buffer.from("mock-token") },
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }

  /** Adds or changes a ServiceAccount and tells every open watch. */
  apply(serviceAccount: MockServiceAccount): void {
    const existed = this.#serviceAccounts.has(key(serviceAccount));
    const object = this.#put(serviceAccount);
    this.#broadcast(`{"type":"${existed ? "MODIFIED" : "ADDED"}","object":${JSON.stringify(object)}}\n`);
  }

  /** Cuts every open watch connection mid-stream. */
  dropWatches(): void {
    for (const res of this.#watches) res.socket?.destroy();
    this.#watches.clear();
  }

  /** Ends every open watch with an ERROR event carrying 410 Gone, as when its resourceVersion is compacted. */
  expireWatches(): void {
    this.#broadcast(
      `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version","reason":"Expired","code":410}}\n`,
    );
    for (const res of this.#watches) res.end();
    this.#watches.clear();
  }

  openWatches(): number {
    return this.#watches.size;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    for (const res of this.#watches) res.end();
    this.#watches.clear();
    if (!this.#server.listening) return;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #put(serviceAccount: MockServiceAccount): object {
    this.#resourceVersion++;
    this.#serviceAccounts.set(key(serviceAccount), serviceAccount);
    return toObject(serviceAccount, this.#resourceVersion);
  }

  #broadcast(line: string): void {
    for (const res of this.#watches) res.write(line);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const match = req.method === "GET" ? serviceAccountsPath.exec(url.pathname) : null;
    if (match === null) {
      sendJson(
        res,
        404,
        status(404, "NotFound", `the mock serves only ServiceAccounts, not ${url.pathname}`),
      );
      return;
    }
    const [, namespace, name] = match;
    if (namespace !== undefined && name !== undefined) this.#get(res, namespace, name);
    else if (url.searchParams.get("watch") === "true") this.#watch(res);
    else this.#list(res);
  }

  #list(res: ServerResponse): void {
    this.stats.lists++;
    const items = [...this.#serviceAccounts.values()].map((sa) => toObject(sa, this.#resourceVersion));
    sendJson(
      res,
      200,
      JSON.stringify({
        kind: "ServiceAccountList",
        apiVersion: "v1",
        metadata: { resourceVersion: String(this.#resourceVersion) },
        items,
      }),
    );
  }

  #watch(res: ServerResponse): void {
    this.stats.watches++;
    if (this.goneWatches > 0) {
      this.goneWatches--;
      sendJson(res, 410, status(410, "Expired", "too old resource version"));
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    this.#watches.add(res);
    res.once("close", () => this.#watches.delete(res));
  }

  #get(res: ServerResponse, namespace: string, name: string): void {
    this.stats.gets++;
    const answer = () => {
      const found = this.#serviceAccounts.get(`${namespace}/${name}`);
      if (found !== undefined) sendJson(res, 200, JSON.stringify(toObject(found, this.#resourceVersion)));
      else sendJson(res, 404, status(404, "NotFound", `serviceaccounts "${name}" not found`));
    };
    if (this.getDelayMs <= 0) {
      answer();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!res.destroyed) answer();
    }, this.getDelayMs);
    this.#timers.add(timer);
  }
}

function key(serviceAccount: MockServiceAccount): string {
  return `${serviceAccount.namespace}/${serviceAccount.name}`;
}

function toObject(serviceAccount: MockServiceAccount, resourceVersion: number): object {
  return {
    kind: "ServiceAccount",
    apiVersion: "v1",
    metadata: {
      namespace: serviceAccount.namespace,
      name: serviceAccount.name,
      resourceVersion: String(resourceVersion),
      annotations: serviceAccount.annotations,
    },
  };
}

function sendJson(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function status(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code });
}
