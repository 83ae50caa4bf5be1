// Requests to the webhook over real HTTPS, trusting the test certificates, with the certificate the server presented.

import { type Agent, request } from "node:https";
import { connect, type PeerCertificate, type TLSSocket } from "node:tls";

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The serving certificate's fingerprint (SHA-256) and serial, as the client saw them. */
  readonly peer: Pick<PeerCertificate, "fingerprint256" | "serialNumber">;
  json(): unknown;
}

export interface RequestOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string | number>;
  readonly body?: string | Buffer;
  /** Reuse connections through this agent; default: a new connection per request. */
  readonly agent?: Agent;
}

export interface HttpsTarget {
  readonly port: number;
  /** PEM certificates to trust. */
  readonly ca: readonly string[];
}

export function send(target: HttpsTarget, options: RequestOptions = {}): Promise<Answer> {
  const body = options.body;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        servername: "localhost",
        port: target.port,
        method: options.method ?? (body === undefined ? "GET" : "POST"),
        path: options.path ?? "/mutate",
        ca: [...target.ca],
        agent: options.agent ?? false,
        headers: {
          ...(body !== undefined
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
            : {}),
          ...options.headers,
        },
      },
      (res) => {
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            peer: { fingerprint256: peer.fingerprint256, serialNumber: peer.serialNumber },
            json: () => JSON.parse(text),
          });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** POSTs an AdmissionReview (object or text) to /mutate. */
export function review(target: HttpsTarget, body: unknown, agent?: Agent): Promise<Answer> {
  return send(target, {
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(agent ? { agent } : {}),
  });
}

export interface Handshake {
  readonly protocol: string | null;
  readonly cipher: string;
}

/** A bare TLS handshake with the server: what protocol and cipher it agreed to. */
export function handshake(port: number, ca: readonly string[], options: object): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", servername: "localhost", port, ca: [...ca], ...options },
      () => {
        const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
        socket.end();
        resolve(result);
      },
    );
    socket.on("error", reject);
  });
}
