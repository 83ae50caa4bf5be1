// A local HTTPS server standing in for kube-apiserver (and the public issuer): a test answers each request.

import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TestCa } from "./certificates.js";

export interface StubAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Answers a GET of `url` (path and query); undefined answers 404 as kube-apiserver does. */
export type StubHandler = (url: URL) => StubAnswer | undefined;

export interface StubApiServer {
  /** https://127.0.0.1:PORT */
  readonly origin: string;
  /** "METHOD path?query authorization" of every request, in order. */
  readonly requests: string[];
  handler: StubHandler;
  close(): Promise<void>;
}

export async function startStubApiServer(serving: TestCa): Promise<StubApiServer> {
  const stub: StubApiServer = {
    origin: "",
    requests: [],
    handler: () => undefined,
    close: async () => {},
  };
  const server = createServer({ key: serving.key, cert: serving.cert }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://stub");
    stub.requests.push(`${req.method} ${url.pathname}${url.search} ${req.headers.authorization ?? "-"}`);
    const answer = req.method === "GET" ? stub.handler(url) : undefined;
    const { status, body } = answer ?? {
      status: 404,
      body: {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        message: "not found",
        reason: "NotFound",
        code: 404,
      },
    };
    res.writeHead(status, { "content-type": "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(stub, {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
