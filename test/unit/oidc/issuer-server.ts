// A local HTTPS server on 127.0.0.1 with a test CA, serving whatever documents a test puts in its routes.

import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";
import { freePort } from "../../support/ports.js";

export interface Route {
  readonly status: number;
  readonly body: string;
}

export interface IssuerServer {
  /** https://127.0.0.1:PORT */
  readonly origin: string;
  /** PEM of the CA that signed the server's certificate; trust it with --ca-file. */
  readonly caPem: string;
  /** Path → response; anything else answers 404. Tests replace the entries they need. */
  readonly routes: Map<string, Route>;
  /** Authorization header of every request, in order. */
  readonly authorizations: (string | undefined)[];
  close(): Promise<void>;
}

export async function startIssuerServer(): Promise<IssuerServer> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const validity = { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + 24 * 3600_000) };
  const ca = await generate([{ name: "commonName", value: "web-identity-webhook oidc test CA" }], {
    ...validity,
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const serving = await generate([{ name: "commonName", value: "127.0.0.1" }], {
    ...validity,
    algorithm: "sha256",
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] },
    ],
  });
  const routes = new Map<string, Route>();
  const authorizations: (string | undefined)[] = [];
  const server = createServer({ key: serving.private, cert: serving.cert }, (req, res) => {
    authorizations.push(req.headers.authorization);
    const route = routes.get(req.url ?? "") ?? { status: 404, body: "404 page not found" };
    res.writeHead(route.status, { "content-type": "application/json" });
    res.end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    caPem: ca.cert,
    routes,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago, and is outside the ephemeral range). */
export function closedPort(): Promise<number> {
  return freePort();
}
