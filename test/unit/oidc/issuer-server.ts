// A local HTTPS server on 127.0.0.1 with a test CA, serving whatever documents a test puts in its routes,
// and a CONNECT proxy that reaches it as https://issuer.example.test (port 443, as IAM requires).

import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:https";
import { type AddressInfo, connect, type Socket } from "node:net";
import { generate } from "selfsigned";
import { freePort } from "../../support/ports.js";

export interface Route {
  readonly status: number;
  readonly body: string;
}

/** The issuer name the proxy answers for; the test cluster's default --service-account-issuer too. */
export const publicIssuer = "https://issuer.example.test";
const publicAuthority = "issuer.example.test:443";

export interface IssuerServer {
  /** https://127.0.0.1:PORT */
  readonly origin: string;
  /** https://issuer.example.test, reached through `proxyEnv` */
  readonly issuer: string;
  /** HTTPS_PROXY of a proxy that tunnels only issuer.example.test:443 to this server; 127.0.0.1 goes direct. */
  readonly proxyEnv: IssuerProxy["env"];
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
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: new URL(publicIssuer).hostname },
        ],
      },
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
  const proxy = await startIssuerProxy(port);
  return {
    origin: `https://127.0.0.1:${port}`,
    issuer: publicIssuer,
    proxyEnv: proxy.env,
    caPem: ca.cert,
    routes,
    authorizations,
    close: async () => {
      await proxy.close();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

export interface IssuerProxy {
  /** HTTPS_PROXY for the proxy; NO_PROXY keeps 127.0.0.1 direct. */
  readonly env: { readonly HTTPS_PROXY: string; readonly NO_PROXY: string };
  close(): Promise<void>;
}

/**
 * A CONNECT proxy on 127.0.0.1 that tunnels issuer.example.test:443 to 127.0.0.1:`port` and refuses every
 * other target, so nothing a test sends through it leaves loopback.
 */
export async function startIssuerProxy(port: number): Promise<IssuerProxy> {
  const tunnels = new Set<Socket>();
  const proxy = createHttpServer((_req, res) => res.writeHead(405).end()).on(
    "connect",
    (req, client: Socket, head: Buffer) => {
      if (req.url !== publicAuthority) {
        client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
        return;
      }
      const upstream = connect(port, "127.0.0.1", () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      for (const socket of [client, upstream]) {
        tunnels.add(socket);
        socket.on("error", () => socket.destroy());
        socket.on("close", () => tunnels.delete(socket));
      }
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    },
  );
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const proxyPort = (proxy.address() as AddressInfo).port;
  return {
    env: { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, NO_PROXY: "127.0.0.1" },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of tunnels) socket.destroy();
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago, and is outside the ephemeral range). */
export function closedPort(): Promise<number> {
  return freePort();
}
