// Talks to a running webhook over HTTPS as the API server would: probes and AdmissionReviews posted directly.
import { randomUUID } from "node:crypto";
import { Agent, request } from "node:https";
import jsonpatch, { type Operation } from "fast-json-patch";

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: string;
  /** Base64 of a JSON Patch. */
  patch?: string;
  warnings?: string[];
  status?: { code?: number; message?: string };
}

export interface WebhookClient {
  /** GET path; the status and text, never rejecting on an HTTP status. */
  get(path: string): Promise<{ status: number; body: string }>;
  /** POSTs a v1 AdmissionReview for creating pod in namespace to /mutate and returns its response. */
  reviewPodCreate(namespace: string, pod: { metadata: { name?: string } }): Promise<AdmissionResponse>;
}

export function createWebhookClient(baseUrl: string, caCertPem: string): WebhookClient {
  const agent = new Agent({ keepAlive: false, ca: caCertPem });

  function send(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, baseUrl),
        {
          method,
          agent,
          timeout: 10_000,
          headers:
            payload === undefined
              ? {}
              : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
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
      req.on("timeout", () => req.destroy(new Error(`${method} ${baseUrl}${path}: timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  return {
    get: (path) => send("GET", path),
    async reviewPodCreate(namespace, pod) {
      const uid = randomUUID();
      const review = {
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: {
          uid,
          kind: { group: "", version: "v1", kind: "Pod" },
          resource: { group: "", version: "v1", resource: "pods" },
          requestKind: { group: "", version: "v1", kind: "Pod" },
          requestResource: { group: "", version: "v1", resource: "pods" },
          name: pod.metadata.name ?? "",
          namespace,
          operation: "CREATE",
          userInfo: { username: "admin", groups: ["system:masters", "system:authenticated"] },
          object: pod,
          oldObject: null,
          dryRun: false,
          options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
        },
      };
      const res = await send("POST", "/mutate", review);
      if (res.status !== 200) throw new Error(`POST /mutate: HTTP ${res.status}: ${res.body}`);
      const answer = JSON.parse(res.body) as { response?: AdmissionResponse };
      if (answer.response?.uid !== uid)
        throw new Error(`POST /mutate: no response for uid ${uid}: ${res.body}`);
      return answer.response;
    },
  };
}

/** The JSON Patch of an AdmissionResponse; empty when it has none. */
export function decodePatch(response: AdmissionResponse): Operation[] {
  if (response.patch === undefined) return [];
  return JSON.parse(Buffer.from(response.patch, "base64").toString("utf8")) as Operation[];
}

/** The object after the response's patch: what the API server would store. */
export function patched<T>(object: T, response: AdmissionResponse): T {
  return jsonpatch.applyPatch(structuredClone(object), decodePatch(response), true, false).newDocument;
}
