// Starting the servers under test: the webhook against the mock kube API (readiness timed, memory read),
// and the null webhook that shows the harness's own ceiling.

import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/ports.js";
import type { BenchCertificates } from "./certificates.js";
import { epochNow, type FakeKubeApi } from "./fake-kube-api.js";
import { type ServiceAccountList, serviceAccountList } from "./fake-serviceaccounts.js";
import type { LoadTarget } from "./load-protocol.js";
import type { Plan } from "./plan.js";
import type { StartupResult, ThroughputResult } from "./results.js";
import { type LogLine, type Memory, type RunningWebhook, startWebhook } from "./webhook-process.js";

const nullWebhookScript = fileURLToPath(new URL("./null-webhook.ts", import.meta.url));

/** What every phase shares: the plan, the mock API and where the webhook's inputs live. */
export interface BenchContext {
  readonly plan: Plan;
  readonly api: FakeKubeApi;
  /** Temporary directory for certificates, kubeconfig and logs. */
  readonly work: string;
  readonly kubeconfigPath: string;
  readonly certificates: BenchCertificates;
  /** The built entry point under test. */
  readonly main: string;
  /** Generated lists by size, built once. */
  readonly lists: Map<number, ServiceAccountList>;
  /** Node options of every webhook process started (--node-option). */
  readonly nodeOptions: readonly string[];
}

/** A server ready for load. */
export interface ServerUnderTest {
  readonly kind: ThroughputResult["server"];
  readonly logLevel: string;
  readonly webhook: RunningWebhook;
  readonly target: LoadTarget;
}

export function note(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** What the webhook's startup log lines say (src/cli/serve.ts, src/serviceaccounts/cache.ts). */
interface StartupLog {
  /** "listed ServiceAccounts": serviceAccounts, durationMs. */
  readonly cached?: number;
  readonly listDurationMs?: number;
  /** Epoch ms of the "ready" line. */
  readonly readyAt?: number;
}

function startupLog(lines: readonly LogLine[]): StartupLog {
  const listed = lines.find((line) => line.msg === "listed ServiceAccounts");
  const ready = lines.find((line) => line.msg === "ready");
  const numberOf = (line: LogLine | undefined, field: string): number | undefined => {
    const value = line?.[field];
    return typeof value === "number" ? value : undefined;
  };
  const cached = numberOf(listed, "serviceAccounts");
  const listDurationMs = numberOf(listed, "durationMs");
  const readyAt = ready?.time;
  return {
    ...(cached === undefined ? {} : { cached }),
    ...(listDurationMs === undefined ? {} : { listDurationMs }),
    ...(readyAt === undefined ? {} : { readyAt }),
  };
}

/** The generated list of `count` ServiceAccounts, built once per size. */
export function serviceAccountsOf(lists: Map<number, ServiceAccountList>, count: number): ServiceAccountList {
  let list = lists.get(count);
  if (list === undefined) {
    list = serviceAccountList(count);
    lists.set(count, list);
  }
  return list;
}

/** A fresh webhook whose cache lists `count` generated ServiceAccounts; readiness timed, memory read after a settle. */
export async function startServer(
  context: BenchContext,
  count: number,
  logLevel: string,
  nodeArgs: readonly string[] = [],
  serveArgs: readonly string[] = [],
): Promise<ServerUnderTest & { readonly startup: StartupResult }> {
  const { api, plan } = context;
  const list = serviceAccountsOf(context.lists, count);
  api.setServiceAccounts(list);
  api.resetStats();
  const port = await freePort();
  const webhook = await startWebhook({
    main: context.main,
    port,
    metricsPort: await freePort(),
    certificates: context.certificates,
    kubeconfigPath: context.kubeconfigPath,
    logPath: join(context.work, `webhook-${count}-${logLevel}.log`),
    logLevel,
    nodeArgs: [...context.nodeOptions, ...nodeArgs],
    serveArgs,
    readyTimeoutMs: plan.readyTimeoutMs,
  });
  const lastPage = api.stats.lastListPageSentAt;
  await sleep(plan.settleMs);
  const memory = await webhook.memory();
  const log = startupLog(await webhook.logLines());
  const startup: StartupResult = {
    serviceAccounts: list.items.length,
    startToReadyMs: Math.round(webhook.readyAt - webhook.spawnedAt),
    lastPageToReadyMs:
      lastPage === undefined ? Number.NaN : Math.round((webhook.readyAt - lastPage) * 10) / 10,
    listPages: api.stats.listPages,
    apiConnections: api.stats.connections,
    ...(log.readyAt === undefined || lastPage === undefined
      ? {}
      : { lastPageToReadyLogMs: Math.round(log.readyAt - lastPage) }),
    ...(log.listDurationMs === undefined ? {} : { listDurationMs: log.listDurationMs }),
    ...(log.cached === undefined ? {} : { cachedReported: log.cached }),
    ...memory,
  };
  note(
    `${startup.serviceAccounts} ServiceAccounts: ready ${startup.startToReadyMs} ms after start, ${startup.lastPageToReadyMs} ms after the last list page; VmRSS ${startup.rssMiB} MiB`,
  );
  const target = { host: "127.0.0.1", port, caPath: context.certificates.caPath };
  return { kind: "webhook", logLevel, webhook, target, startup };
}

/**
 * One memory reading `plan.restMs` after ready, the server idle since: by then V8's memory reducer has run the
 * full GC that frees the list pages' garbage. A fixed time, not the least of several readings, so it is not picked.
 */
export async function memoryAtRest(context: BenchContext, server: ServerUnderTest): Promise<Memory> {
  await sleep(Math.max(0, server.webhook.readyAt + context.plan.restMs - epochNow()));
  const memory = await server.webhook.memory();
  note(`at rest, ${context.plan.restMs} ms after ready: VmRSS ${memory.rssMiB} MiB`);
  return memory;
}

/** The null webhook, started like the real one. */
export async function startNullWebhook(context: BenchContext): Promise<ServerUnderTest> {
  const port = await freePort();
  const webhook = await startWebhook({
    main: nullWebhookScript,
    port,
    metricsPort: 0,
    certificates: context.certificates,
    kubeconfigPath: context.kubeconfigPath,
    logPath: join(context.work, "null-webhook.log"),
    logLevel: "silent",
    nodeArgs: ["--import", "tsx"],
    readyTimeoutMs: context.plan.readyTimeoutMs,
  });
  await sleep(context.plan.settleMs);
  const target = { host: "127.0.0.1", port, caPath: context.certificates.caPath };
  return { kind: "null-webhook", logLevel: "–", webhook, target };
}
