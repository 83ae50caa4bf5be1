import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { connectionFromSettings } from "../../../src/kube/settings.js";
import type { ServiceAccountWatchEvent } from "../../../src/serviceaccounts/api.js";
import { createKubeServiceAccountApi } from "../../../src/serviceaccounts/kube-api.js";
import { until } from "./fake-clock.js";

interface MockApiServer {
  readonly origin: string;
  /** "GET path?query authorization" of every request, in order. */
  readonly requests: string[];
  /** The open watch responses, for the test to write events to. */
  readonly watches: ServerResponse[];
  /** For each request, in order: which TCP connection (0, 1, ...) it came on. */
  readonly connections: number[];
  /** Set to make the server drop the next request that arrives on a connection already used. */
  dropNextReused: boolean;
  close(): Promise<void>;
}

function status(code: number, message: string) {
  return { kind: "Status", apiVersion: "v1", status: "Failure", message, code };
}

function serviceAccountJson(namespace: string, name: string, annotations: Record<string, string> = {}) {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { namespace, name, annotations, resourceVersion: "7" },
  };
}

/** A mock kube-apiserver on 127.0.0.1 answering the ServiceAccount list, watch and GET the webhook makes. */
async function startMockApiServer(): Promise<MockApiServer> {
  const requests: string[] = [];
  const watches: ServerResponse[] = [];
  const connections: number[] = [];
  const sockets: Socket[] = [];
  const served = new WeakMap<Socket, number>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://mock");
    const socket = req.socket;
    if (!sockets.includes(socket)) sockets.push(socket);
    connections.push(sockets.indexOf(socket));
    requests.push(`${req.method} ${url.pathname}${url.search} ${req.headers.authorization ?? "-"}`);
    const before = served.get(socket) ?? 0;
    served.set(socket, before + 1);
    if (mock.dropNextReused && before > 0) {
      // As a server whose idle timeout fired while the request was on its way: no answer, the connection closes.
      mock.dropNextReused = false;
      socket.destroy();
      return;
    }
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/api/v1/serviceaccounts" && url.searchParams.get("watch") === "true") {
      if (url.searchParams.get("resourceVersion") === "1") {
        json(410, status(410, "too old resource version: 1 (500)"));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      watches.push(res);
    } else if (url.pathname === "/api/v1/serviceaccounts") {
      const first = url.searchParams.get("continue") === null;
      json(200, {
        kind: "ServiceAccountList",
        apiVersion: "v1",
        metadata: first ? { resourceVersion: "500", continue: "page-2" } : { resourceVersion: "500" },
        items: first
          ? [
              serviceAccountJson("a", "one", { "eks.amazonaws.com/role-arn": "arn:one" }),
              serviceAccountJson("a", "two"),
            ]
          : [serviceAccountJson("b", "three")],
      });
    } else if (url.pathname.startsWith("/api/v1/namespaces/forbidden/")) {
      json(403, status(403, "serviceaccounts is forbidden"));
    } else if (url.pathname === "/api/v1/namespaces/a/serviceaccounts/one") {
      json(200, serviceAccountJson("a", "one", { "eks.amazonaws.com/role-arn": "arn:one" }));
    } else {
      json(404, status(404, `serviceaccounts "${url.pathname.split("/").at(-1)}" not found`));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const mock: MockApiServer = {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    watches,
    connections,
    dropNextReused: false,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return mock;
}

describe("the ServiceAccountApi against a mock API server", () => {
  let mock: MockApiServer;
  let api: ReturnType<typeof createKubeServiceAccountApi>;
  const signal = new AbortController().signal;

  before(async () => {
    mock = await startMockApiServer();
    const connection = await connectionFromSettings({
      server: mock.origin,
      origin: "test",
      token: { inline: Buffer.from("webhook-token") },
    });
    api = createKubeServiceAccountApi(connection);
  });
  after(() => mock.close());

  it("lists all namespaces page by page and GETs one ServiceAccount, 404 as undefined", async () => {
    mock.requests.length = 0;
    const first = await api.list({ limit: 2 }, signal);
    assert.deepEqual(
      first.items.map((item) => `${item.metadata?.namespace}/${item.metadata?.name}`),
      ["a/one", "a/two"],
    );
    assert.equal(first.resourceVersion, "500");
    assert.equal(first.continue, "page-2");
    const second = await api.list({ limit: 2, continue: "page-2" }, signal);
    assert.equal(second.items.length, 1);
    assert.equal(second.continue, undefined);

    const found = await api.get("a", "one", signal);
    assert.deepEqual(found?.metadata?.annotations, { "eks.amazonaws.com/role-arn": "arn:one" });
    assert.equal(await api.get("a", "absent", signal), undefined);
    assert.deepEqual(mock.requests, [
      "GET /api/v1/serviceaccounts?limit=2 Bearer webhook-token",
      "GET /api/v1/serviceaccounts?continue=page-2&limit=2 Bearer webhook-token",
      "GET /api/v1/namespaces/a/serviceaccounts/one Bearer webhook-token",
      "GET /api/v1/namespaces/a/serviceaccounts/absent Bearer webhook-token",
    ]);
  });

  it("sends list pages and GETs one after another on one kept-alive connection", async () => {
    mock.connections.length = 0;
    await api.list({ limit: 2 }, signal);
    await api.list({ limit: 2, continue: "page-2" }, signal);
    await api.get("a", "one", signal);
    await api.get("a", "absent", signal);
    assert.equal(mock.connections.length, 4);
    assert.equal(new Set(mock.connections).size, 1);
  });

  it("sends a GET once more on a new connection when the server closed the kept-alive one", async () => {
    await api.get("a", "one", signal);
    mock.connections.length = 0;
    mock.requests.length = 0;
    mock.dropNextReused = true;
    const found = await api.get("a", "one", signal);
    assert.deepEqual(found?.metadata?.annotations, { "eks.amazonaws.com/role-arn": "arn:one" });
    assert.equal(mock.dropNextReused, false, "the server dropped the first attempt");
    assert.deepEqual(mock.requests, [
      "GET /api/v1/namespaces/a/serviceaccounts/one Bearer webhook-token",
      "GET /api/v1/namespaces/a/serviceaccounts/one Bearer webhook-token",
    ]);
    const [dropped, answered] = mock.connections;
    assert.notEqual(answered, dropped, "the second attempt went on a new connection");
  });

  it("reports an error status of a GET with its code and the API server's message", async () => {
    await assert.rejects(api.get("forbidden", "x", signal), {
      name: "ServiceAccountApiError",
      message: "get ServiceAccount forbidden/x: HTTP 403 (serviceaccounts is forbidden)",
      status: 403,
    });
  });

  it("watches with bookmarks from a resourceVersion, reading events split across chunks, until the server ends it", async () => {
    mock.requests.length = 0;
    const events: ServiceAccountWatchEvent[] = [];
    const done: (Error | undefined)[] = [];
    await api.watch(
      { resourceVersion: "500", timeoutSeconds: 450 },
      (e) => events.push(e),
      (e) => done.push(e),
    );
    await until(() => mock.watches.length === 1, "the watch arrives");
    assert.deepEqual(mock.requests, [
      "GET /api/v1/serviceaccounts?watch=true&allowWatchBookmarks=true&resourceVersion=500&timeoutSeconds=450 Bearer webhook-token",
    ]);
    const stream = mock.watches[0] as ServerResponse;
    const added = JSON.stringify({ type: "ADDED", object: serviceAccountJson("c", "new") });
    stream.write(`${added.slice(0, 20)}`);
    stream.write(
      `${added.slice(20)}\n${JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "612" } } })}\n`,
    );
    stream.write(
      `${JSON.stringify({ type: "ERROR", object: status(410, "too old resource version: 500 (600)") })}\n`,
    );
    await until(() => events.length === 3, "three events arrive");
    assert.deepEqual(events, [
      { type: "ADDED", object: serviceAccountJson("c", "new") },
      { type: "BOOKMARK", resourceVersion: "612" },
      { type: "ERROR", code: 410, message: "too old resource version: 500 (600)" },
    ]);
    stream.end();
    await until(() => done.length === 1, "the watch ends");
    assert.deepEqual(done, [undefined]);
  });

  it("reports an HTTP error status with the API server's message, and is silent after abort", async () => {
    const done: (Error | undefined)[] = [];
    await api.watch(
      { resourceVersion: "1", timeoutSeconds: 450 },
      () => {},
      (e) => done.push(e),
    );
    await until(() => done.length === 1, "the watch fails");
    assert.deepEqual(
      { message: done[0]?.message, status: (done[0] as { status?: number }).status },
      { message: "watch ServiceAccounts: HTTP 410 (too old resource version: 1 (500))", status: 410 },
    );

    const aborted: (Error | undefined)[] = [];
    const watchCount = mock.watches.length;
    const handle = await api.watch(
      { resourceVersion: "500", timeoutSeconds: 450 },
      () => {},
      (e) => aborted.push(e),
    );
    await until(() => mock.watches.length === watchCount + 1, "the watch arrives");
    const closed = new Promise((resolve) => mock.watches.at(-1)?.on("close", resolve));
    handle.abort();
    await closed;
    assert.deepEqual(aborted, []);
  });
});
