// An API server request that keeps what the harness's KubeClient drops: the status of a refusal and the Warning headers.
import { Agent, request } from "node:https";
import type { KubeCredentials } from "../cluster/kube.js";

export interface ApiResponse {
  status: number;
  /** The parsed JSON body (an object on success, a Status on failure). */
  body: unknown;
  /** The text of each `Warning: 299 - "..."` header, in order, unescaped. */
  warnings: string[];
}

export type ApiRequest = (method: string, path: string, body?: unknown) => Promise<ApiResponse>;

// RFC 7234 warn-text: a quoted-string in which a backslash escapes the next character.
const warningPattern = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/;

/** The warn-text of one Warning header value, e.g. `299 - "a \"b\""` gives `a "b"`. */
export function parseWarningHeader(value: string): string {
  const match = warningPattern.exec(value);
  if (match?.[1] === undefined) throw new Error(`not a Warning header value: ${value}`);
  return match[1].replace(/\\(.)/g, "$1");
}

/** A client for credentials.server that never rejects on an HTTP status: callers assert on it. */
export function createApiRequest(credentials: KubeCredentials): ApiRequest {
  const agent = new Agent({
    keepAlive: false,
    ca: credentials.caCertPem,
    cert: credentials.clientCertPem,
    key: credentials.clientKeyPem,
  });
  return (method, path, body) => {
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
          res.on("end", () => {
            // rawHeaders keeps repeated Warning headers apart; res.headers would join them with ", ".
            const warnings: string[] = [];
            for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
              const value = res.rawHeaders[i + 1];
              if (res.rawHeaders[i]?.toLowerCase() === "warning" && value !== undefined) {
                // Node reads header bytes as latin1; the API server sends the webhook's UTF-8 text as is.
                warnings.push(parseWarningHeader(Buffer.from(value, "latin1").toString("utf8")));
              }
            }
            const text = Buffer.concat(chunks).toString("utf8");
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), warnings });
            } catch {
              reject(new Error(`${method} ${path}: HTTP ${res.statusCode}: not JSON: ${text.slice(0, 500)}`));
            }
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  };
}
