// A minimal JSON client for the test cluster's API server, authenticated with the admin client certificate.
import { Agent, request } from "node:https";

export interface KubeCredentials {
  /** https://127.0.0.1:PORT */
  server: string;
  caCertPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/** A non-2xx answer from the API server, with its status code and body. */
export class KubeRequestError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${path}: HTTP ${status}: ${body}`);
    this.name = "KubeRequestError";
  }
}

export interface KubeClient {
  /** Sends body as JSON and parses the JSON answer; rejects with KubeRequestError on a non-2xx status. */
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** The raw status and text of a GET, for probes such as /readyz. */
  get(path: string): Promise<{ status: number; body: string }>;
}

/** A client for credentials.server; connections are not kept alive, so an API server restart leaves no stale socket. */
export function createKubeClient(credentials: KubeCredentials): KubeClient {
  const agent = new Agent({
    keepAlive: false,
    ca: credentials.caCertPem,
    cert: credentials.clientCertPem,
    key: credentials.clientKeyPem,
  });

  function send(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, credentials.server),
        {
          method,
          agent,
          timeout: 30_000,
          headers: {
            accept: "application/json",
            ...(payload === undefined
              ? {}
              : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await send(method, path, body);
      if (res.status < 200 || res.status > 299)
        throw new KubeRequestError(method, path, res.status, res.body);
      return JSON.parse(res.body) as T;
    },
    get: (path) => send("GET", path),
  };
}

/**
 * Creates a namespace and its `default` ServiceAccount. Without kube-controller-manager nobody else
 * creates that ServiceAccount, and the ServiceAccount admission plugin rejects pods until it exists.
 */
export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
  });
  await client.request("POST", `/api/v1/namespaces/${name}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "default" },
  });
}
