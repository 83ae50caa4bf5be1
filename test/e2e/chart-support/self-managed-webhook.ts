// Runs the built webhook out of cluster with the chart's container arguments in self-managed certificate mode,
// and looks at what it serves over TLS.
import type { X509Certificate } from "node:crypto";
import { access } from "node:fs/promises";
import { request } from "node:https";
import { connect } from "node:tls";
import { fileURLToPath } from "node:url";
import { type ManagedProcess, startProcess } from "../cluster/process.js";
import { waitUntilReady } from "../cluster/wait.js";

const mainScript = fileURLToPath(new URL("../../../dist/cli/main.js", import.meta.url));

/**
 * The name the API server calls the webhook by (clientConfig.url). The certificate holds only the DNS names
 * of --service-name, and the API server can reach no Service here, so the webhook runs with
 * --service-name=localhost: its first name is then "localhost", which resolves to the loopback it listens on.
 */
export const webhookHost = "localhost";

export interface SelfManagedWebhookOptions {
  /** The chart's container arguments after `serve`. */
  chartArgs: readonly string[];
  kubeconfigPath: string;
  port: number;
  logPath: string;
}

export interface SelfManagedWebhook {
  port: number;
  /** https://localhost:PORT/mutate, for clientConfig.url. */
  mutateUrl: string;
  logPath: string;
  /** Resolves once /readyz answers 200, which in self-managed mode means the caBundle trusts the served certificate. */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `node dist/cli/main.js serve` with the chart's arguments, then the local overrides (the last flag wins). */
export async function launchSelfManagedWebhook(
  options: SelfManagedWebhookOptions,
): Promise<SelfManagedWebhook> {
  try {
    await access(mainScript);
  } catch {
    throw new Error(`${mainScript} is missing: run "npm run build" before the e2e tests`);
  }
  const child: ManagedProcess = startProcess({
    name: "web-identity-webhook",
    command: process.execPath,
    logPath: options.logPath,
    args: [
      mainScript,
      "serve",
      ...options.chartArgs,
      `--kubeconfig=${options.kubeconfigPath}`,
      "--listen-address=127.0.0.1",
      `--port=${options.port}`,
      "--metrics-port=0",
      `--service-name=${webhookHost}`,
      "--shutdown-delay=0",
      "--shutdown-timeout=2000",
    ],
  });
  return {
    port: options.port,
    mutateUrl: `https://${webhookHost}:${options.port}/mutate`,
    logPath: options.logPath,
    async ready() {
      await waitUntilReady(async () => (await httpsGet(options.port, "/readyz")).status === 200, {
        what: `web-identity-webhook on port ${options.port} /readyz`,
        process: child,
        timeoutMs: 30_000,
        intervalMs: 100,
      });
    },
    stop: () => child.stop(),
  };
}

/**
 * GET over HTTPS from 127.0.0.1:port. With `caPem` the certificate must chain to it and name `localhost`
 * (a failed check rejects); without it, any certificate is taken.
 */
export function httpsGet(
  port: number,
  path: string,
  caPem?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        servername: webhookHost,
        agent: false,
        timeout: 5_000,
        ...(caPem === undefined ? { rejectUnauthorized: false } : { ca: caPem }),
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
    req.on("timeout", () => req.destroy(new Error(`GET https://127.0.0.1:${port}${path}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** The certificate presented by the webhook on 127.0.0.1:port to a client asking for `localhost`. */
export function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername: webhookHost, rejectUnauthorized: false });
    socket.setTimeout(5_000, () => socket.destroy(new Error(`TLS to 127.0.0.1:${port}: timed out`)));
    socket.once("secureConnect", () => {
      const certificate = socket.getPeerX509Certificate();
      socket.end();
      if (certificate === undefined) reject(new Error(`127.0.0.1:${port} presented no certificate`));
      else resolve(certificate);
    });
    socket.once("error", reject);
  });
}
