// Sends a JSON Patch to the test API server, which the harness's JSON client cannot (it sends application/json).
import { Agent, request } from "node:https";
import type { KubeCredentials } from "../cluster/kube.js";

export type JsonPatchOperation =
  | { op: "add" | "replace" | "test"; path: string; value: unknown }
  | { op: "remove"; path: string };

/** PATCHes path with `operations` as admin; rejects with the status and body on a non-2xx answer. */
export function jsonPatch(
  credentials: KubeCredentials,
  path: string,
  operations: readonly JsonPatchOperation[],
): Promise<void> {
  const payload = JSON.stringify(operations);
  const agent = new Agent({
    keepAlive: false,
    ca: credentials.caCertPem,
    cert: credentials.clientCertPem,
    key: credentials.clientKeyPem,
  });
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, credentials.server),
      {
        method: "PATCH",
        agent,
        timeout: 10_000,
        headers: {
          accept: "application/json",
          "content-type": "application/json-patch+json",
          "content-length": Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status <= 299) resolve();
          else reject(new Error(`PATCH ${path}: HTTP ${status}: ${Buffer.concat(chunks).toString("utf8")}`));
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`PATCH ${path}: timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}
