// The benchmark: the built webhook against a mock kube API, driven by a separate load-generator process.
// Writes results.json, results.md and latency.svg to docs/benchmark/ (`--smoke`: briefly, to test/bench/out/smoke/).
// Usage: npm run bench [-- --profile] [-- --out DIR] [-- --main FILE] [-- --node-option OPT ...];  npm run bench:smoke

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeBenchCertificates } from "./certificates.js";
import { epochNow, startFakeKubeApi } from "./fake-kube-api.js";
import type { ServiceAccountList } from "./fake-serviceaccounts.js";
import { imageNodeOptions } from "./image-node-options.js";
import type { LoadResult } from "./load-protocol.js";
import { machineRecord } from "./machine.js";
import { burst, cacheMiss, flood, latency, profile, throughput } from "./phases.js";
import { plans } from "./plan.js";
import { writeReport } from "./report.js";
import type {
  BenchResults,
  LatencyResult,
  ProfileResult,
  StartupResult,
  ThroughputResult,
} from "./results.js";
import { admissionReview, reviewSizes } from "./reviews.js";
import {
  type BenchContext,
  memoryAtRest,
  note,
  type ServerUnderTest,
  serviceAccountsOf,
  startNullWebhook,
  startServer,
} from "./servers.js";
import { writeKubeconfig } from "./webhook-process.js";

const logLevel = "info";
const repository = resolve(import.meta.dirname, "../..");

function withoutWindow({ window: _, ...result }: Awaited<ReturnType<typeof throughput>>): ThroughputResult {
  return result;
}

/** `plan.latencyRuns` open-loop runs at `rate`: the one with the median p99, and every run's p99. */
async function medianLatency(
  context: BenchContext,
  server: ServerUnderTest,
  rate: number,
): Promise<LatencyResult> {
  const runs: Omit<LatencyResult, "runsP99Ms">[] = [];
  for (let run = 0; run < context.plan.latencyRuns; run++) runs.push(await latency(context, server, rate));
  const byP99 = [...runs].sort((a, b) => a.load.latency.p99 - b.load.latency.p99);
  const median = byP99[Math.floor((byP99.length - 1) / 2)];
  if (median === undefined) throw new Error("plan.latencyRuns must be at least 1");
  return { ...median, runsP99Ms: runs.map((r) => r.load.latency.p99) };
}

async function phases(
  context: BenchContext,
  withProfile: boolean,
): Promise<Omit<BenchResults, "machine" | "mode" | "settings">> {
  const { plan, api } = context;
  const unexpected: string[] = [];
  const startup: StartupResult[] = [];
  const throughputs: ThroughputResult[] = [];
  const latencies: LatencyResult[] = [];

  const base = await startServer(context, plan.baseServiceAccounts, logLevel);
  startup.push(base.startup);
  let cache: BenchResults["cacheMiss"];
  let bursts: BenchResults["burst"];
  let afterLoad: BenchResults["afterLoad"];
  try {
    for (const size of reviewSizes) throughputs.push(withoutWindow(await throughput(context, base, size)));
    for (const rate of plan.rates) latencies.push(await medianLatency(context, base, rate));
    bursts = await burst(context, base);
    cache = await cacheMiss(context, base);
    afterLoad = await base.webhook.memory();
  } finally {
    await base.webhook.stop();
  }
  unexpected.push(...api.stats.unexpected);

  // The same medium load without the line per review, to price the logging.
  const quiet = await startServer(context, plan.baseServiceAccounts, "warn");
  try {
    throughputs.push(withoutWindow(await throughput(context, quiet, "medium")));
  } finally {
    await quiet.webhook.stop();
  }

  const flooded = await flood(context);
  unexpected.push(...api.stats.unexpected);

  const ceiling = await startNullWebhook(context);
  let nullLatency: LatencyResult;
  try {
    throughputs.push(withoutWindow(await throughput(context, ceiling, "medium")));
    nullLatency = await medianLatency(context, ceiling, plan.controlRate);
  } finally {
    await ceiling.webhook.stop();
  }

  let profiled: ProfileResult | undefined;
  if (withProfile) {
    const result = await profile(context, join(repository, "test/bench/out/profile"));
    profiled = { ...result, file: relative(repository, result.file) };
  }

  // One at a time, each resting plan.restMs: two processes side by side would share the mock API's list
  // and stats, and one's GC would disturb the other's startup timing.
  for (const count of plan.memoryServiceAccounts) {
    const server = await startServer(context, count, logLevel);
    try {
      startup.push({ ...server.startup, atRest: await memoryAtRest(context, server) });
    } finally {
      await server.webhook.stop();
    }
    unexpected.push(...api.stats.unexpected);
  }
  return {
    startup,
    throughput: throughputs,
    latency: latencies,
    nullLatency,
    burst: bursts,
    flood: flooded,
    cacheMiss: cache,
    afterLoad,
    ...(profiled === undefined ? {} : { profile: profiled }),
    mockApiUnexpected: [...new Set(unexpected)],
  };
}

/** "phase: N errors (kinds)" for every load of the run that had errors. */
function failedReviews(results: BenchResults): string[] {
  const loads: [string, LoadResult][] = [
    ...results.throughput.map((t): [string, LoadResult] => [`throughput ${t.server} ${t.size}`, t.load]),
    ...[...results.latency, results.nullLatency].map((l): [string, LoadResult] => [
      `open loop ${l.server} ${l.offeredRate}/s`,
      l.load,
    ]),
    ["burst", results.burst.load],
    ["cache hit", results.cacheMiss.hit],
    ["cache miss", results.cacheMiss.miss],
    ["cache miss again", results.cacheMiss.missAgain],
    ["absent ServiceAccount", results.cacheMiss.absent],
  ];
  return loads
    .filter(([, load]) => load.errors > 0)
    .map(([phase, load]) => `${phase}: ${load.errors} (${JSON.stringify(load.errorKinds)})`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      smoke: { type: "boolean" },
      profile: { type: "boolean" },
      out: { type: "string" },
      // Another build to compare, e.g. a copy of dist/ from before a change.
      main: { type: "string" },
      // Node options for the webhook process only (not the generator or the mock API), instead of the image's.
      "node-option": { type: "string", multiple: true },
    },
  });
  const plan = plans[values.smoke === true ? "smoke" : "full"];
  const webhookMain = resolve(values.main ?? join(repository, "dist/cli/main.js"));
  if (!existsSync(webhookMain)) throw new Error(`${webhookMain} is missing: run "npm run build" first`);
  const outDir = resolve(
    values.out ?? join(repository, plan.mode === "smoke" ? "test/bench/out/smoke" : "docs/benchmark"),
  );
  const machine = await machineRecord();
  const work = await mkdtemp(join(tmpdir(), "web-identity-webhook-bench-"));
  const started = epochNow();
  try {
    const certificates = await writeBenchCertificates(work);
    const lists = new Map<number, ServiceAccountList>();
    const api = await startFakeKubeApi({
      certPem: await readFile(certificates.certPath, "utf8"),
      keyPem: await readFile(certificates.keyPath, "utf8"),
      serviceAccounts: serviceAccountsOf(lists, plan.baseServiceAccounts),
      bookmarkIntervalMs: 5_000,
    });
    try {
      const kubeconfigPath = join(work, "kubeconfig");
      await writeKubeconfig(kubeconfigPath, api.url, certificates.caPem);
      const context: BenchContext = {
        plan,
        api,
        work,
        kubeconfigPath,
        certificates,
        main: webhookMain,
        lists,
        nodeOptions: values["node-option"] ?? (await imageNodeOptions(join(repository, "Dockerfile"))),
      };
      note(`${plan.mode} run of ${webhookMain}; mock kube API at ${api.url}`);
      const measured = await phases(context, values.profile === true);
      const results: BenchResults = {
        machine,
        mode: plan.mode,
        settings: {
          sockets: plan.sockets,
          openLoopSockets: plan.openLoopSockets,
          warmupMs: plan.warmupMs,
          durationMs: plan.durationMs,
          settleMs: plan.settleMs,
          restMs: plan.restMs,
          baseServiceAccounts: plan.baseServiceAccounts,
          logLevel,
          webhookNodeOptions: context.nodeOptions,
          requestBytes: {
            small: Buffer.byteLength(admissionReview("small")),
            medium: Buffer.byteLength(admissionReview("medium")),
            large: Buffer.byteLength(admissionReview("large")),
          },
        },
        ...measured,
      };
      await mkdir(outDir, { recursive: true });
      await writeReport(outDir, results);
      // The smoke run is CI's proof that the harness and the webhook still work: a failed review fails it.
      const failed = failedReviews(results);
      if (plan.mode === "smoke" && failed.length > 0) {
        throw new Error(`reviews failed in the smoke run: ${failed.join("; ")}`);
      }
    } finally {
      await api.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  note(`done in ${Math.round((epochNow() - started) / 1000)} s; results in ${outDir}`);
}

await main();
