// One TLS connection to a webhook, verified as the API server verifies it, then one request over it.

import http from "node:http";
import tls from "node:tls";
import type { HttpResponse } from "../oidc/http.js";
import type { ServedCertificate, WebhookProbe, WebhookRequest, WebhookTarget } from "./api.js";

export interface ProbeTimeouts {
  /** For TCP and the TLS handshake. */
  readonly connectMs: number;
  /** For the answer to the request. */
  readonly answerMs: number;
}

const maxAnswerBytes = 1024 * 1024;

/**
 * Connects trusting only `target.ca`, checks the certificate's chain and its name (`serverName`, else the
 * IP address), and, when both hold, POSTs the request on the same connection.
 */
export function probeWebhook(
  target: WebhookTarget,
  request: WebhookRequest,
  timeouts: ProbeTimeouts,
): Promise<WebhookProbe> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      ca: target.ca,
      ...(target.serverName !== undefined ? { servername: target.serverName } : {}),
      // node still verifies chain and name, and says how in `authorized`; not rejecting lets us describe the certificate.
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
    });
    let settled = false;
    const settle = (probe: WebhookProbe): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(probe);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      settle({ reached: false, error: `no TLS handshake within ${timeouts.connectMs} ms` });
    }, timeouts.connectMs);
    let secured = false;
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // Once the handshake is done, the request reports the connection's errors as its own.
      if (!secured) settle({ reached: false, error: error.code ?? error.message });
    });
    socket.once("secureConnect", () => {
      secured = true;
      clearTimeout(timer);
      const certificate = describe(socket);
      const verifyError = verificationError(socket);
      if (verifyError !== undefined) {
        socket.destroy();
        settle({ reached: true, certificate, verifyError, answer: undefined });
        return;
      }
      const host = target.serverName ?? target.host;
      post(
        socket,
        `${host.includes(":") ? `[${host}]` : host}:${target.port}`,
        request,
        timeouts.answerMs,
      ).then((answer) => {
        socket.destroy();
        settle({ reached: true, certificate, verifyError: undefined, answer });
      });
    });
  });
}

/**
 * node's error code for a certificate that does not verify: its chain against `ca`, then its name against
 * servername (or host), which node checks itself even when it is told not to reject the connection.
 */
function verificationError(socket: tls.TLSSocket): string | undefined {
  if (socket.authorized) return undefined;
  // A string at run time (node stores the error's code), though typed as an Error.
  const error: unknown = socket.authorizationError;
  return error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
}

function describe(socket: tls.TLSSocket): ServedCertificate {
  const certificate = socket.getPeerX509Certificate();
  if (certificate === undefined)
    return { subject: "(none)", issuer: "(none)", altNames: [], validTo: "(unknown)" };
  return {
    subject: certificate.subject.split("\n").join(", "),
    issuer: certificate.issuer.split("\n").join(", "),
    altNames: certificate.subjectAltName === undefined ? [] : certificate.subjectAltName.split(", "),
    validTo: new Date(certificate.validTo).toISOString(),
  };
}

function post(
  socket: tls.TLSSocket,
  host: string,
  request: WebhookRequest,
  timeoutMs: number,
): Promise<HttpResponse | { error: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        createConnection: () => socket,
        method: "POST",
        path: request.path,
        headers: {
          host,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(request.body),
          connection: "close",
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxAnswerBytes)
            req.destroy(new Error(`the answer is larger than ${maxAnswerBytes} bytes`));
          else chunks.push(chunk);
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(request.body);
  });
}
