// A local HTTPS server standing in for the webhook: answers /healthz and echoes AdmissionReviews as allowed.

import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TestCa } from "./certificates.js";

export interface WebhookServer {
  readonly port: number;
  /** Path and body of each POST, in order. */
  readonly posts: { path: string; body: string }[];
  close(): Promise<void>;
}

export async function startWebhookServer(serving: TestCa): Promise<WebhookServer> {
  const posts: { path: string; body: string }[] = [];
  const server = createServer({ key: serving.key, cert: serving.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (req.method === "GET" && req.url === "/healthz") return void res.writeHead(200).end("ok");
      if (req.method !== "POST" || req.url !== "/mutate") return void res.writeHead(404).end("not found");
      posts.push({ path: req.url, body });
      let uid: unknown;
      try {
        uid = (JSON.parse(body) as { request?: { uid?: unknown } }).request?.uid;
      } catch {
        uid = undefined;
      }
      if (typeof uid !== "string") return void res.writeHead(400).end("not an AdmissionReview");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: { uid, allowed: true },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    posts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
