// Writes a run's results: results.json, results.md (tables and goals) and latency.svg.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { latencyChart } from "./latency-chart.js";
import type { LoadResult } from "./load-protocol.js";
import { profileMarkdown } from "./profile-summary.js";
import type { BenchResults, LatencyResult, ServerKind } from "./results.js";

/** The goals on a 2-core machine; reported, never asserted. */
export const goals = {
  mediumReviewsPerSecond: 10_000,
  p99MsAt2000: 2,
  rssMBWith100k: 100,
  lastPageToReadyMs: 1_000,
} as const;

const number = (value: number, digits = 0): string =>
  value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (value: number): string =>
  Number.isNaN(value)
    ? "–"
    : value >= 100
      ? number(value, 0)
      : value >= 10
        ? number(value, 1)
        : number(value, 2);
const mb = (mib: number): number => (mib * 2 ** 20) / 1e6;
const seconds = (milliseconds: number): string => `${milliseconds / 1000} s`;

const optional = (value: number | undefined): string => (value === undefined ? "–" : ms(value));

const serverName = (kind: ServerKind): string => (kind === "webhook" ? "webhook" : "null webhook");

function errors(load: LoadResult): string {
  if (load.errors === 0) return "0";
  const kinds = Object.entries(load.errorKinds).map(([kind, count]) => `${kind}: ${count}`);
  return `${load.errors} (${kinds.join(", ")})`;
}

function disturbance(results: BenchResults): string[] {
  const windows = [...results.throughput, ...results.latency, results.nullLatency];
  const worst = Math.max(0, ...windows.map((w) => w.otherCores));
  if (worst < 0.2) return [];
  return [
    "",
    `**Other processes used up to ${number(worst, 2)} cores during a measured window of this run.**`,
  ];
}

/** "2.14 ms (the median of 3 runs: 1.56, 2.50, 2.14 ms)" */
function medianOf(result: LatencyResult): string {
  const runs = result.runsP99Ms.map((p99) => ms(p99)).join(", ");
  return `${ms(result.load.latency.p99)} ms (the median of ${result.runsP99Ms.length} runs: ${runs} ms)`;
}

function goalRows(results: BenchResults): string[] {
  const rows: string[] = [];
  const medium = results.throughput.find(
    (t) => t.size === "medium" && t.logLevel === results.settings.logLevel,
  );
  if (medium !== undefined) {
    const met = medium.load.achievedRate >= goals.mediumReviewsPerSecond;
    rows.push(
      `| ≥ ${number(goals.mediumReviewsPerSecond)} medium reviews/s, one process | ${number(medium.load.achievedRate)}/s | ${met ? "yes" : "no"} |`,
    );
  }
  const at2000 = results.latency.find((l) => l.offeredRate === 2000);
  if (at2000 !== undefined) {
    const met = at2000.load.latency.p99 < goals.p99MsAt2000 && at2000.load.errors === 0;
    const control = results.nullLatency;
    // The null webhook at the same rate, in the same run: a server doing no work on this machine and harness.
    const floor =
      control.offeredRate === at2000.offeredRate
        ? `; the null webhook, doing no work, at the same rate: ${medianOf(control)}${control.load.latency.p99 >= goals.p99MsAt2000 ? ", so this run's machine could not show the goal for any server" : ""}`
        : "";
    rows.push(
      `| p99 < ${goals.p99MsAt2000} ms at 2,000 reviews/s | ${medianOf(at2000)}${floor} | ${met ? "yes" : "no"} |`,
    );
  }
  const big = results.startup.find((s) => s.serviceAccounts >= 100_000);
  if (big?.atRest !== undefined) {
    // Judged at rest, what `kubectl top` shows of an idle webhook; the early reading and the peak stay beside it.
    const { settleMs, restMs } = results.settings;
    const met = mb(big.atRest.rssMiB) < goals.rssMBWith100k;
    rows.push(
      `| < ${goals.rssMBWith100k} MB RSS with 100,000 ServiceAccounts (at rest, ${seconds(restMs)} after ready) | ${number(mb(big.atRest.rssMiB), 1)} MB (${number(big.atRest.rssMiB, 1)} MiB); early, ${seconds(settleMs)} after ready: ${number(mb(big.rssMiB), 1)} MB; peak (VmHWM): ${number(mb(big.atRest.peakRssMiB), 1)} MB | ${met ? "yes" : "no"} |`,
    );
  }
  const slowest = [...results.startup].sort((a, b) => b.lastPageToReadyMs - a.lastPageToReadyMs)[0];
  if (slowest !== undefined) {
    const met = slowest.lastPageToReadyMs < goals.lastPageToReadyMs;
    rows.push(
      `| ready < 1 s after the last list page (worst case, ${number(slowest.serviceAccounts)} ServiceAccounts) | ${ms(slowest.lastPageToReadyMs)} ms | ${met ? "yes" : "no"} |`,
    );
  }
  return rows;
}

function burstSection(results: BenchResults): string[] {
  const { reviews, sockets, idleMs, load } = results.burst;
  const lines = [
    "## A burst after a quiet spell",
    "",
    `${number(reviews)} medium reviews at once over ${sockets} kept-alive connections (opened before the first pause), each burst after ${seconds(idleMs)} without a request: a Deployment scaled to ${number(reviews)} replicas after a quiet spell, with every review arriving at the same moment, the worst case. Latency runs from the burst's start, so the last review's latency is how long its pod creation waited on the webhook.`,
    "",
    "| burst | reviews | all answered ms | p50 ms | p99 ms | max ms | errors |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const [index, burst] of (load.bursts ?? []).entries()) {
    const l = burst.latency;
    lines.push(
      `| ${index + 1} | ${number(l.count + burst.errors)} | ${ms(burst.allAnsweredMs)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} | ${burst.errors} |`,
    );
  }
  if (load.errors > 0) lines.push("", `Errors: ${errors(load)}.`);
  lines.push("");
  return lines;
}

function floodSection(results: BenchResults): string[] {
  const f = results.flood;
  const answers = Object.entries(f.answers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([answer, count]) => `${answer}: ${number(count)}`)
    .join(", ");
  const normal = f.normal.latency;
  return [
    "## A flood of large reviews beside normal ones",
    "",
    `A fresh webhook (${number(results.settings.baseServiceAccounts)} ServiceAccounts, \`${f.serveArgs.join(" ")}\` so that the flood's bodies are read rather than refused by size) gets reviews of ${number(f.reviewBytes)} bytes, ${f.concurrency} at once, from the bench process, while the load generator sends medium reviews at ${number(results.flood.normal.achievedRate)}/s (open loop). Over \`--max-bytes-in-flight\` or \`--max-reviews-in-flight\` a request is answered 429 with Retry-After before its body is read ("reset": the connection closed while the body was still being sent). RSS is sampled every 50 ms; VmHWM is the process's peak.`,
    "",
    "| flood reviews sent | answers | flood s | RSS before MiB | RSS peak sampled MiB | VmHWM MiB | RSS 2 s after MiB | normal reviews | normal p50 ms | normal p99 ms | normal max ms | normal errors |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    `| ${number(f.sent)} | ${answers} | ${number(f.floodSeconds, 1)} | ${number(f.before.rssMiB, 1)} | ${number(f.sampledPeakRssMiB, 1)} | ${number(f.peakRssMiB, 1)} | ${number(f.after.rssMiB, 1)} | ${number(f.normal.completed + f.normal.errors)} | ${ms(normal.p50)} | ${ms(normal.p99)} | ${ms(normal.max)} | ${errors(f.normal)} |`,
    "",
  ];
}

export function resultsMarkdown(results: BenchResults): string {
  const { machine, settings } = results;
  const lines: string[] = [
    "# Benchmark results",
    "",
    `Generated by \`npm run bench${results.mode === "smoke" ? ":smoke" : ""}\` (test/bench/run.ts); the numbers below are from this run only.`,
    results.mode === "smoke" ? "\n**Smoke run: too short to mean anything about speed.**" : "",
    "",
    "## Machine",
    "",
    "| | |",
    "| --- | --- |",
    `| date | ${machine.date} |`,
    `| git commit | ${machine.gitCommit}${machine.gitDirty ? " (src/ had uncommitted changes)" : ""} |`,
    `| node | ${machine.node} |`,
    `| webhook node options | ${settings.webhookNodeOptions.length > 0 ? settings.webhookNodeOptions.join(" ") : "none (Node's defaults)"} |`,
    `| CPU | ${machine.cpuModel} |`,
    `| cores | ${machine.cores} |`,
    `| memory | ${machine.memoryGiB} GiB |`,
    `| kernel | ${machine.kernel} |`,
    `| cores busy before the run | ${number(machine.busyCoresBefore, 2)} |`,
    "",
    "The webhook, the load generator and the mock kube API share these cores. *Other cores* in the tables below is CPU used by anything else on the machine during a measured window (from /proc/stat); where it is well above zero, another workload competed and the numbers are pessimistic.",
    ...disturbance(results),
    "",
    "## Goals (2-core machine; reported, not asserted)",
    "",
    "| goal | measured | met |",
    "| --- | ---: | :---: |",
    ...goalRows(results),
    "",
    "## Maximum throughput (closed loop)",
    "",
    `${settings.sockets} keep-alive HTTPS connections, one review in flight on each; ${number(settings.warmupMs / 1000, 1)} s warm-up, ${number(settings.durationMs / 1000, 1)} s measured. Latency from the actual send. The *null webhook* (test/bench/null-webhook.ts) answers without any work: its row is the most this harness can drive on this machine, so a webhook row near it is bounded by the harness, not by the webhook.`,
    "",
    "| server | review | log level | request bytes | reviews/s | p50 ms | p99 ms | p99.9 ms | errors | webhook CPU µs/review | webhook cores | log bytes/review | generator cores | other cores |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const t of results.throughput) {
    const l = t.load.latency;
    lines.push(
      `| ${serverName(t.server)} | ${t.size} | ${t.logLevel} | ${number(t.load.requestBytes)} | ${number(t.load.achievedRate)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.p999)} | ${errors(t.load)} | ${number(t.cpuMicrosPerReview)} | ${number(t.cpuCores, 2)} | ${number(t.logBytesPerReview)} | ${number(t.load.generatorCores, 2)} | ${number(t.otherCores, 2)} |`,
    );
  }
  lines.push(
    "",
    "## Latency at fixed offered rates (open loop, medium review)",
    "",
    `Requests are scheduled at fixed times whatever the answers do, over up to ${settings.openLoopSockets} keep-alive connections; latency runs from the scheduled time, so a stall is charged to every request it delayed. *Service* time runs from the actual send; *sent late* is how long after its scheduled time a request went out (the generator's pacing plus waiting for a free connection; it counts in the latency). Each rate runs ${results.latency[0]?.runsP99Ms.length ?? 1} time(s), ${settings.durationMs / 1000} s measured each; a row is the run with the median p99, and the last column lists the p99 of every run in the order they ran. *Handling* is the webhook's own time per review as it logs it (durationMs: from the request's head arriving to the answer, the body's parsing included); what service time adds to it is spent outside the request handler: waiting for the event loop, TLS, the kernel's loopback and the generator, all on the same two cores. The *null webhook* row is the control: the same open loop against a server that does no work (test/bench/null-webhook.ts), at ${number(results.nullLatency.offeredRate)}/s. Its tail is what this machine and harness add to any server, so the webhook's tail can only be judged against it.`,
    "",
    "| server | offered/s | achieved/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | service p99 ms | handling p50 / p99 / p99.9 ms | sent late p99 ms | webhook CPU µs/review | webhook cores | generator cores | other cores | p99 of each run ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of [...results.latency, results.nullLatency]) {
    const l = r.load.latency;
    lines.push(
      `| ${serverName(r.server)} | ${number(r.offeredRate)} | ${number(r.load.achievedRate)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.p999)} | ${ms(l.max)} | ${errors(r.load)} | ${ms(r.load.serviceTime?.p99 ?? 0)} | ${r.handling === undefined ? "–" : `${ms(r.handling.p50)} / ${ms(r.handling.p99)} / ${ms(r.handling.p999)}`} | ${ms(r.load.sendLag?.p99 ?? 0)} | ${number(r.cpuMicrosPerReview)} | ${number(r.cpuCores, 2)} | ${number(r.load.generatorCores, 2)} | ${number(r.otherCores, 2)} | ${r.runsP99Ms.map((p99) => ms(p99)).join(", ")} |`,
    );
  }
  lines.push(
    "",
    "![p50, p99 and p99.9 latency against offered rate](latency.svg)",
    "",
    ...burstSection(results),
    ...floodSection(results),
    "## Startup and memory",
    "",
    "Each row is a fresh webhook process whose ServiceAccount cache lists from the mock kube API (500 per page). Readiness is polled every 10 ms on one kept-alive connection; the log-line column has no polling delay. Memory is read from /proc/PID/status; heap figures come from the webhook's own /metrics (process_* and nodejs_* gauges).",
    "",
    `Memory is read twice. *Early* is ${seconds(settings.settleMs)} after ready, right after the list, with the parsed list pages' garbage still on the heap; *at rest* is ${seconds(settings.restMs)} after ready with no load, after V8's memory reducer has had time to collect that garbage (a server kept for load has no at-rest reading). VmHWM is the peak RSS up to the early reading; heap used and external are early.`,
    "",
    '| ServiceAccounts | start → ready ms | last list page → /readyz 200 ms | last list page → "ready" log line ms | list took (logged) ms | list pages | API connections | cached (logged) | VmRSS MiB, early | VmRSS MiB, at rest | VmHWM MiB | heap used MiB | heap total MiB, early | heap total MiB, at rest | external MiB |',
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const s of results.startup) {
    lines.push(
      `| ${number(s.serviceAccounts)} | ${ms(s.startToReadyMs)} | ${ms(s.lastPageToReadyMs)} | ${optional(s.lastPageToReadyLogMs)} | ${optional(s.listDurationMs)} | ${s.listPages} | ${s.apiConnections} | ${s.cachedReported === undefined ? "–" : number(s.cachedReported)} | ${number(s.rssMiB, 1)} | ${s.atRest === undefined ? "–" : number(s.atRest.rssMiB, 1)} | ${number(s.peakRssMiB, 1)} | ${optional(s.heapUsedMiB)} | ${optional(s.heapTotalMiB)} | ${optional(s.atRest?.heapTotalMiB)} | ${optional(s.externalMiB)} |`,
    );
  }
  lines.push(
    "",
    `After all load phases the load server (${number(settings.baseServiceAccounts)} ServiceAccounts) held VmRSS ${number(results.afterLoad.rssMiB, 1)} MiB, VmHWM ${number(results.afterLoad.peakRssMiB, 1)} MiB, heap used ${optional(results.afterLoad.heapUsedMiB)} MiB.`,
    "",
    `## Cache miss with a slow API server (GET delayed ${results.cacheMiss.getDelayMs} ms)`,
    "",
    "One medium review at a time.",
    "",
    "| case | reviews | p50 ms | p99 ms | max ms | errors |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
  );
  const cases: [string, LoadResult][] = [
    ["hit: ServiceAccount in the cache", results.cacheMiss.hit],
    ["miss: not listed, found by a live GET", results.cacheMiss.miss],
    ["same names again", results.cacheMiss.missAgain],
    ["absent: not listed, GET answers 404", results.cacheMiss.absent],
  ];
  for (const [name, load] of cases) {
    lines.push(
      `| ${name} | ${load.completed + load.errors} | ${ms(load.latency.p50)} | ${ms(load.latency.p99)} | ${ms(load.latency.max)} | ${errors(load)} |`,
    );
  }
  if (results.profile !== undefined) {
    lines.push(
      "",
      `## Where the time goes (\`node --cpu-prof\`, ${results.profile.scenario})`,
      "",
      `The webhook ran under \`node --cpu-prof\` (profile: \`${results.profile.file}\`, git-ignored; open it in Chrome DevTools). The sampler counts wall time on the main thread: time the thread sat descheduled inside a system call (typically \`writev\`, whose loopback send wakes the load generator) is charged to that call, so native I/O frames read high when the cores are contended. Natives are charged to the JS area that called them, except JSON and socket I/O, which get their own rows.`,
      "",
      profileMarkdown(results.profile.summary),
    );
  }
  if (results.mockApiUnexpected.length > 0) {
    lines.push(
      "",
      `The mock kube API could not answer: ${[...new Set(results.mockApiUnexpected)].join(", ")}.`,
    );
  }
  lines.push(
    "",
    "## Method",
    "",
    "- The webhook is the built CLI, `node dist/cli/main.js serve`, with TLS, logging at the level shown, one process, run with the node options of the Dockerfile's ENTRYPOINT (see *Machine*) unless `--node-option` gives others.",
    "- Its ServiceAccounts come from a **mock** kube API (node:https on 127.0.0.1, test/bench/fake-kube-api.ts): paginated list, an idle watch, and single GETs with a configurable delay. Generated ServiceAccounts carry role-arn annotations and the usual noise (last-applied-configuration, Helm annotations, managedFields).",
    "- A separate load-generator process (test/bench/load.ts) posts AdmissionReview v1 bodies (test/bench/reviews.ts: Deployment pods; small = 1 container; medium = 3 containers, an init container, 20 env vars each, 5 volumes; large = 20 containers, 3 native sidecars and an init container, 100 env vars each) over keep-alive HTTPS, a fresh uid per request, and checks one answer in 1,024 in full.",
    "- Webhook CPU comes from /proc/PID/stat during the measured window; memory from /proc/PID/status.",
    `- Each memory server's memory is read a second time, at rest: once, ${seconds(settings.restMs)} after ready with no load, the time fixed in the plan rather than the least of several readings; the RSS goal judges this reading.`,
    "- Reproduce: `npm run bench` (add `-- --profile` for the CPU profile); `npm run bench:smoke` proves the harness works in under a minute.",
    "",
  );
  return lines.join("\n");
}

/** changes.md in `dir`, hand-written (what changed between runs and why), carried into results.md. */
async function changeNotes(dir: string): Promise<string> {
  try {
    return `\n${await readFile(join(dir, "changes.md"), "utf8")}`;
  } catch {
    return "";
  }
}

/** Writes results.json, results.md (with changes.md, if there is one, at its end) and latency.svg into `dir`. */
export async function writeReport(dir: string, results: BenchResults): Promise<void> {
  const points = results.latency.map((r) => ({
    offeredRate: r.offeredRate,
    p50: r.load.latency.p50,
    p99: r.load.latency.p99,
    p999: r.load.latency.p999,
  }));
  const title = `Medium review latency, open loop (${results.machine.cores} cores, node ${results.machine.node})`;
  await writeFile(join(dir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(dir, "results.md"), `${resultsMarkdown(results)}${await changeNotes(dir)}`);
  await writeFile(join(dir, "latency.svg"), latencyChart(points, title, goals.p99MsAt2000));
}
