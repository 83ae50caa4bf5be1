import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import type { ServiceAccountWatchEvent } from "../../../src/serviceaccounts/api.js";
import { createKubeServiceAccountApi } from "../../../src/serviceaccounts/kube-api.js";
import { until } from "./fake-clock.js";

interface MockApiServer {
  readonly origin: string;
  /** "GET path?query authorization" of every request, in order. */
  readonly requests: string[];
  /** The open watch responses, for the test to write events to. */
  readonly watches: ServerResponse[];
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
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://mock");
    requests.push(`${req.method} ${url.pathname}${url.search} ${req.headers.authorization ?? "-"}`);
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
    } else if (url.pathname === "/api/v1/namespaces/a/serviceaccounts/one") {
      json(200, serviceAccountJson("a", "one", { "eks.amazonaws.com/role-arn": "arn:one" }));
    } else {
      json(404, status(404, `serviceaccounts "${url.pathname.split("/").at(-1)}" not found`));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    watches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("the client-node ServiceAccountApi against a mock API server", () => {
  let mock: MockApiServer;
  let api: ReturnType<typeof createKubeServiceAccountApi>;
  const signal = new AbortController().signal;

  before(async () => {
    mock = await startMockApiServer();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "mock", server: mock.origin, skipTLSVerify: true }],
      users: [{ name: "webhook", token: "webhook-token" }],
      contexts: [{ name: "mock", cluster: "mock", user: "webhook" }],
      currentContext: "mock",
    });
    api = createKubeServiceAccountApi(kubeConfig);
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
