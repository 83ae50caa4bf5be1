// Runs the webhook container of a Deployment, as read from the API server, as a local process: the built
// `dist/cli/main.js` with the container's own arguments and environment, plus the few overrides a process outside
// a pod needs.
import { access, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Container, Deployment } from "../../chart/kinds.js";
import { freePort } from "../../support/ports.js";
import { type ManagedProcess, startProcess } from "../cluster/process.js";
import { waitUntilReady } from "../cluster/wait.js";
import { reviewedPods, serviceReadyz } from "../support/service-webhook.js";

const mainScript = fileURLToPath(new URL("../../../dist/cli/main.js", import.meta.url));

export interface DeployedWebhookOptions {
  /** The Deployment as stored: its first container is run. */
  deployment: Deployment;
  /** Authenticates as the Deployment's ServiceAccount (see writeServiceAccountKubeconfig). */
  kubeconfigPath: string;
  /** A non-loopback IPv4 address of this machine (see endpointAddress). */
  address: string;
  /** <service>.<namespace>.svc, the TLS server name the API server asks for. */
  serviceHost: string;
  logPath: string;
}

export interface DeployedWebhook {
  address: string;
  port: number;
  /** The arguments after main.js: the container's, then the overrides. */
  argv: readonly string[];
  /** The whole environment of the process: the container's env, resolved as the kubelet would. */
  env: Readonly<Record<string, string>>;
  logPath: string;
  /** GET /readyz verifying the certificate against caPem and the Service's name, as the API server does; rejects when either fails. */
  verifiedReadyz(caPem: string): Promise<number>;
  /** The `pod` of each review it logged for namespace, in order. */
  reviewedPods(namespace: string): Promise<string[]>;
  /**
   * SIGTERM, then SIGKILL after the pod's terminationGracePeriodSeconds, as the kubelet stops a container;
   * resolves with the exit code (or signal) and the milliseconds the exit took.
   */
  stop(): Promise<{ exit: number | string; ms: number }>;
}

/** Starts the Deployment's webhook container and waits until /readyz answers 200 (self-managed: the caBundle trusts its certificate). */
export async function startDeployedWebhook(options: DeployedWebhookOptions): Promise<DeployedWebhook> {
  try {
    await access(mainScript);
  } catch {
    throw new Error(`${mainScript} is missing: run "npm run build" before the e2e tests`);
  }
  const { deployment } = options;
  const podSpec = deployment.spec.template.spec;
  const container = podSpec.containers[0];
  if (container === undefined || podSpec.containers.length !== 1)
    throw new Error(`Deployment ${deployment.metadata.name} must have exactly one container`);
  // No command: the image's ENTRYPOINT (node .../dist/cli/main.js) runs the args. A chart that set one would
  // run something this process does not.
  if (container.command !== undefined)
    throw new Error(`the container sets command ${JSON.stringify(container.command)}; this runs main.js`);

  const port = await freePort();
  const metricsPort = await freePort();
  const argv = [
    ...container.args,
    // Overrides for a process outside a pod; the last occurrence of a flag wins.
    // In a pod the webhook uses the in-cluster configuration (the ServiceAccount token the kubelet mounts);
    // here a kubeconfig holding a TokenRequest token of that same ServiceAccount.
    `--kubeconfig=${options.kubeconfigPath}`,
    // The chart's 0.0.0.0 means every address of the pod's own network namespace; on this shared host it
    // would be every interface, so listen only where the EndpointSlice says the pod is.
    `--listen-address=${options.address}`,
    // 8443 and 9999 belong to the pod alone; on this host they may be taken (or by a parallel run).
    `--port=${port}`,
    `--metrics-port=${metricsPort}`,
  ];
  const env = containerEnvironment(container, deployment.metadata.namespace ?? "");
  const envPairs = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  const gracePeriodMs = (podSpec.terminationGracePeriodSeconds ?? 30) * 1000;
  const child: ManagedProcess = startProcess({
    name: `web-identity-webhook (${deployment.metadata.name})`,
    // env -i: the process sees the container's environment only, not the test runner's (which may hold
    // WEB_IDENTITY_WEBHOOK_* variables, each read as a flag). env execs node, so the pid stays node's.
    command: "/usr/bin/env",
    logPath: options.logPath,
    args: ["-i", ...envPairs, process.execPath, mainScript, ...argv],
  });
  await waitUntilReady(async () => (await serviceReadyz({ ...options, port })) === 200, {
    what: `${deployment.metadata.name} /readyz on ${options.address}:${port}`,
    process: child,
    timeoutMs: 60_000,
    intervalMs: 100,
  });
  return {
    address: options.address,
    port,
    argv,
    env,
    logPath: options.logPath,
    verifiedReadyz: (caPem) => serviceReadyz({ ...options, port }, caPem),
    async reviewedPods(namespace) {
      return reviewedPods(await readFile(options.logPath, "utf8"), namespace);
    },
    async stop() {
      const started = Date.now();
      await child.stop(gracePeriodMs);
      return { exit: await child.exited, ms: Date.now() - started };
    },
  };
}

/**
 * The container's env as the kubelet resolves it: plain values, and the one downward-API field the chart uses
 * (metadata.namespace, the pod's namespace, which is the Deployment's). Anything else throws, so a new kind of
 * variable in the chart is noticed here instead of silently dropped.
 */
function containerEnvironment(container: Container, podNamespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.fieldRef?.fieldPath === "metadata.namespace")
      env[variable.name] = podNamespace;
    else throw new Error(`cannot resolve env ${variable.name} outside a pod: ${JSON.stringify(variable)}`);
  }
  return env;
}
