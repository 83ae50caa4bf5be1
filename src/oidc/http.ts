// One GET over HTTP(S) that returns status and text, follows no redirect, and stops at a size and time limit.

import http from "node:http";
import https from "node:https";
import { rootCertificates } from "node:tls";

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
  /** The Location header of a redirect, if any. */
  readonly location?: string;
}

/** Fetches one URL; rejects on network or TLS errors (the error's `code` says which). */
export type HttpGet = (url: string) => Promise<HttpResponse>;

const maxBodyBytes = 1024 * 1024;

/** GETs `url` with node's request options (CA, agent, headers); redirects are returned, not followed. */
export function getText(
  url: string,
  options: https.RequestOptions,
  timeoutMs: number,
): Promise<HttpResponse> {
  const request = new URL(url).protocol === "http:" ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBodyBytes) {
          req.destroy(new Error(`response from ${url} is larger than ${maxBodyBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => {
        const location = res.headers.location;
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          ...(location !== undefined ? { location } : {}),
        });
      });
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(
        Object.assign(new Error(`no answer from ${url} within ${timeoutMs} ms`), { code: "ETIMEDOUT" }),
      ),
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * An HttpGet for public issuer URLs; `ca` adds a trusted CA (tests), on top of node's public roots, and
 * `env`'s HTTPS_PROXY / HTTP_PROXY / NO_PROXY (upper or lower case) route the requests through a proxy,
 * as curl and the AWS CLI do.
 */
export function issuerGetter(options: { ca?: string; timeoutMs: number; env: NodeJS.ProcessEnv }): HttpGet {
  const ca = options.ca !== undefined ? { ca: [...rootCertificates, options.ca] } : {};
  const httpsAgent = new https.Agent({ ...ca, proxyEnv: options.env });
  const httpAgent = new http.Agent({ proxyEnv: options.env });
  return (url) => {
    const agent = new URL(url).protocol === "http:" ? httpAgent : httpsAgent;
    return getText(url, { ...ca, agent }, options.timeoutMs);
  };
}
