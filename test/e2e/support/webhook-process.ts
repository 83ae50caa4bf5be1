// Runs the built webhook (`node dist/cli/main.js serve`, the container's command) out of cluster against the test API server.
import { access } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ManagedProcess, startProcess } from "../cluster/process.js";
import { waitUntilReady } from "../cluster/wait.js";
import type { ServingCertificate } from "./serving-certificate.js";
import { createWebhookClient, type WebhookClient } from "./webhook-client.js";

const mainScript = fileURLToPath(new URL("../../../dist/cli/main.js", import.meta.url));

export interface WebhookProcessOptions {
  kubeconfigPath: string;
  certificate: ServingCertificate;
  port: number;
  /** Plain HTTP /metrics port; 0 disables metrics. */
  metricsPort: number;
  /** Where `${logName}.log` is appended (kept across restarts). */
  dir: string;
  /** Default "webhook". */
  logName?: string;
  /** Engine flags and anything else after the ones above. */
  extraArgs?: readonly string[];
}

export interface WebhookProcess {
  /** https://127.0.0.1:PORT */
  url: string;
  /** https://127.0.0.1:PORT/mutate, for clientConfig.url. */
  mutateUrl: string;
  client: WebhookClient;
  logPath: string;
  isRunning(): boolean;
  /** Starts the process (again, on the same port) and waits for /readyz. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after the grace period; safe to call when stopped. */
  stop(): Promise<void>;
  /** GET /metrics as text; throws when metrics are disabled. */
  metrics(): Promise<string>;
}

/** The serve command line, without `node`. */
function serveArgs(options: WebhookProcessOptions): string[] {
  return [
    mainScript,
    "serve",
    "--kubeconfig",
    options.kubeconfigPath,
    "--tls-cert",
    options.certificate.certPath,
    "--tls-key",
    options.certificate.keyPath,
    "--port",
    String(options.port),
    "--metrics-port",
    String(options.metricsPort),
    "--listen-address",
    "127.0.0.1",
    // Tests stop the webhook to see what the API server does without it: no drain before closing.
    "--shutdown-delay=0",
    ...(options.extraArgs ?? []),
  ];
}

/** Creates the process handle and starts it; rejects when dist/ is missing or /readyz never passes. */
export async function startWebhookProcess(options: WebhookProcessOptions): Promise<WebhookProcess> {
  try {
    await access(mainScript);
  } catch {
    throw new Error(`${mainScript} is missing: run "npm run build" before the e2e tests`);
  }
  const url = `https://127.0.0.1:${options.port}`;
  const client = createWebhookClient(url, options.certificate.caCertPem);
  const logPath = join(options.dir, `${options.logName ?? "webhook"}.log`);
  let child: ManagedProcess | undefined;

  const webhook: WebhookProcess = {
    url,
    mutateUrl: `${url}/mutate`,
    client,
    logPath,
    isRunning: () => child?.isRunning() ?? false,
    async start() {
      if (child?.isRunning()) throw new Error("the webhook is already running; call stop() first");
      const started = startProcess({
        name: "web-identity-webhook",
        command: process.execPath,
        args: serveArgs(options),
        logPath,
      });
      child = started;
      await waitUntilReady(async () => (await client.get("/readyz")).status === 200, {
        what: "web-identity-webhook /readyz",
        process: started,
        timeoutMs: 30_000,
        intervalMs: 100,
      });
    },
    async stop() {
      await child?.stop();
    },
    async metrics() {
      if (options.metricsPort === 0) throw new Error("metrics are disabled (--metrics-port 0)");
      const res = await fetch(`http://127.0.0.1:${options.metricsPort}/metrics`);
      if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
      return res.text();
    },
  };
  await webhook.start();
  return webhook;
}
