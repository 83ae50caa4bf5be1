// The measured phases: closed-loop throughput, open-loop latency, cache misses, and a CPU profile.

import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { absentNamePrefix, lateNamePrefix, reviewServiceAccounts } from "./fake-serviceaccounts.js";
import { floodReview, flood as floodReviews } from "./flood.js";
import { LatencyRecorder } from "./latency.js";
import { runLoad } from "./load-client.js";
import type { LoadJob, LoadResult, PatchExpectation } from "./load-protocol.js";
import { machineBusySeconds } from "./machine-load.js";
import { summariseProfileFile } from "./profile-summary.js";
import type {
  BurstResult,
  CacheMissResult,
  FloodResult,
  LatencyResult,
  ProfileResult,
  ServerCost,
  ThroughputResult,
} from "./results.js";
import type { ReviewSize } from "./reviews.js";
import { type BenchContext, note, type ServerUnderTest, startServer } from "./servers.js";

interface Measured {
  readonly load: LoadResult;
  readonly cost: ServerCost;
  /** The measured window on the system's monotonic clock, microseconds (the clock of .cpuprofile timestamps). */
  readonly window: { readonly fromMicros: number; readonly toMicros: number };
}

/** Runs a timed job; the server's CPU time and log bytes within the measured window are charged to its reviews. */
async function measured(server: ServerUnderTest, job: LoadJob): Promise<Measured> {
  const { webhook } = server;
  const readings: Promise<[number, number, number]>[] = [];
  const edges: number[] = [];
  const read = async (): Promise<[number, number, number]> => [
    await webhook.cpuSeconds(),
    await webhook.logBytes(),
    await machineBusySeconds(),
  ];
  const load = await runLoad(job, () => {
    edges.push(Number(process.hrtime.bigint() / 1000n));
    readings.push(read());
  });
  const [start, end] = await Promise.all(readings);
  const [fromMicros, toMicros] = edges;
  if (start === undefined || end === undefined || fromMicros === undefined || toMicros === undefined) {
    throw new Error("the load generator did not announce its window");
  }
  const reviews = Math.max(1, load.completed + load.errors);
  const cpu = end[0] - start[0];
  const handling = new LatencyRecorder(reviews);
  for (const ms of await webhook.reviewDurations(start[1], end[1])) handling.record(ms);
  return {
    load,
    cost: {
      cpuMicrosPerReview: Math.round((cpu * 1e6) / reviews),
      cpuCores: Math.round((cpu / load.seconds) * 100) / 100,
      logBytesPerReview: Math.round((end[1] - start[1]) / reviews),
      // Generator CPU is known for the whole job only; charge it at its average rate to the window.
      otherCores: Math.max(
        0,
        Math.round(((end[2] - start[2] - cpu) / load.seconds - load.generatorCores) * 100) / 100,
      ),
      ...(handling.count === 0 ? {} : { handling: handling.summary() }),
    },
    window: { fromMicros, toMicros },
  };
}

export async function throughput(
  context: BenchContext,
  server: ServerUnderTest,
  size: ReviewSize,
): Promise<ThroughputResult & Pick<Measured, "window">> {
  const { plan } = context;
  const { load, cost, window } = await measured(server, {
    kind: "closed",
    target: server.target,
    size,
    sockets: plan.sockets,
    warmupMs: plan.warmupMs,
    durationMs: plan.durationMs,
  });
  note(
    `throughput, ${server.kind} (log ${server.logLevel}), ${size}: ${load.achievedRate}/s, p99 ${load.latency.p99} ms, ${cost.cpuMicrosPerReview} µs CPU/review, errors ${load.errors}`,
  );
  await sleep(plan.settleMs);
  return { size, server: server.kind, logLevel: server.logLevel, load, ...cost, window };
}

export async function latency(
  context: BenchContext,
  server: ServerUnderTest,
  rate: number,
): Promise<Omit<LatencyResult, "runsP99Ms">> {
  const { plan } = context;
  const { load, cost } = await measured(server, {
    kind: "open",
    target: server.target,
    size: "medium",
    sockets: plan.openLoopSockets,
    ratePerSecond: rate,
    warmupMs: plan.warmupMs,
    durationMs: plan.durationMs,
  });
  note(
    `open loop, ${server.kind}, ${rate}/s: achieved ${load.achievedRate}/s, p50 ${load.latency.p50}, p99 ${load.latency.p99}, p99.9 ${load.latency.p999} ms, errors ${load.errors}`,
  );
  await sleep(plan.settleMs);
  return { server: server.kind, offeredRate: rate, load, ...cost };
}

/** plan.bursts bursts of plan.burstReviews reviews at once, each after plan.burstIdleMs without a request. */
export async function burst(context: BenchContext, server: ServerUnderTest): Promise<BurstResult> {
  const { plan } = context;
  const sockets = plan.openLoopSockets;
  const load = await runLoad({
    kind: "burst",
    target: server.target,
    size: "medium",
    sockets,
    reviews: plan.burstReviews,
    idleMs: plan.burstIdleMs,
    bursts: plan.bursts,
  });
  const each = (load.bursts ?? []).map((b) => `${b.allAnsweredMs} ms`).join(", ");
  note(
    `bursts of ${plan.burstReviews} after ${plan.burstIdleMs} ms idle: all answered in ${each}; p99 ${load.latency.p99} ms, errors ${load.errors}`,
  );
  await sleep(plan.settleMs);
  return { reviews: plan.burstReviews, sockets, idleMs: plan.burstIdleMs, load };
}

/**
 * A fresh webhook, its body limit raised to let the flood's reviews be read (the attack at its worst): the
 * flood from this process beside an open loop of medium reviews from the generator; memory sampled throughout.
 */
export async function flood(context: BenchContext): Promise<FloodResult> {
  const { plan } = context;
  const serveArgs = ["--max-body-bytes", String(4 * 2 ** 20)];
  const server = await startServer(context, plan.baseServiceAccounts, "warn", [], serveArgs);
  try {
    const { webhook } = server;
    const body = floodReview(plan.floodBytes);
    const before = await webhook.memory();
    let sampledPeakRssMiB = before.rssMiB;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        sampledPeakRssMiB = Math.max(sampledPeakRssMiB, (await webhook.memory()).rssMiB);
        await sleep(50);
      }
    })();
    // The flood starts when the normal stream's measured window opens (its connections are up by then) and
    // stops sending when the stream ends.
    let windowOpened: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => {
      windowOpened = resolve;
    });
    const normalLoad = runLoad(
      {
        kind: "open",
        target: server.target,
        size: "medium",
        sockets: plan.openLoopSockets,
        ratePerSecond: plan.floodNormalRate,
        warmupMs: plan.warmupMs,
        durationMs: plan.floodDurationMs,
      },
      (edge) => {
        if (edge === "start") windowOpened();
      },
    );
    let normal: LoadResult;
    let outcome: Awaited<ReturnType<typeof floodReviews>>;
    try {
      [normal, outcome] = await Promise.all([
        normalLoad,
        Promise.race([opened, normalLoad]).then(() =>
          floodReviews(server.target, body, plan.floodReviews, plan.floodConcurrency, normalLoad),
        ),
      ]);
    } finally {
      sampling = false;
      await sampler;
    }
    const { peakRssMiB } = await webhook.memory();
    await sleep(2000);
    const after = await webhook.memory();
    note(
      `flood of ${outcome.sent} × ${body.length} bytes at ${plan.floodConcurrency} in ${outcome.seconds} s: ${JSON.stringify(outcome.answers)}; RSS ${before.rssMiB} → peak ${peakRssMiB} MiB; normal reviews beside it: p99 ${normal.latency.p99} ms, errors ${normal.errors}`,
    );
    return {
      reviewBytes: body.length,
      concurrency: plan.floodConcurrency,
      serveArgs,
      sent: outcome.sent,
      answers: outcome.answers,
      floodSeconds: outcome.seconds,
      normal,
      before,
      sampledPeakRssMiB,
      peakRssMiB,
      after,
    };
  } finally {
    await server.webhook.stop();
  }
}

/** One review at a time: cached, missing from the cache (slow GET), the same again, and absent (GET 404). */
export async function cacheMiss(context: BenchContext, server: ServerUnderTest): Promise<CacheMissResult> {
  const { api, plan } = context;
  const names = (prefix: string): string[] =>
    Array.from({ length: plan.missReviews }, (_, n) => `${prefix}${n.toString().padStart(4, "0")}`);
  const sequential = (serviceAccounts: readonly string[], expect: PatchExpectation): Promise<LoadResult> =>
    runLoad({ kind: "sequential", target: server.target, size: "medium", serviceAccounts, expect });
  api.getDelayMs = plan.getDelayMs;
  try {
    const hit = await sequential(Array(plan.missReviews).fill(reviewServiceAccounts.medium), "patch");
    const late = names(lateNamePrefix);
    const miss = await sequential(late, "patch");
    const missAgain = await sequential(late, "patch");
    const absent = await sequential(names(absentNamePrefix), "no-patch");
    note(
      `cache (GET delay ${plan.getDelayMs} ms): p50 hit ${hit.latency.p50}, miss ${miss.latency.p50}, again ${missAgain.latency.p50}, absent ${absent.latency.p50} ms`,
    );
    return { getDelayMs: plan.getDelayMs, gets: api.stats.gets, hit, miss, missAgain, absent };
  } finally {
    api.getDelayMs = 0;
  }
}

/** The medium closed loop again on a webhook under `node --cpu-prof`, summarised. */
export async function profile(context: BenchContext, profileDir: string): Promise<ProfileResult> {
  await rm(profileDir, { recursive: true, force: true });
  await mkdir(profileDir, { recursive: true });
  const logLevel = "info";
  const server = await startServer(context, context.plan.baseServiceAccounts, logLevel, [
    "--cpu-prof",
    "--cpu-prof-dir",
    profileDir,
  ]);
  let result: Awaited<ReturnType<typeof throughput>>;
  try {
    result = await throughput(context, server, "medium");
  } finally {
    await server.webhook.stop();
  }
  // The main thread's profile is the largest; workers (if any) write their own.
  const files = (await readdir(profileDir)).filter((name) => name.endsWith(".cpuprofile"));
  const sized = await Promise.all(
    files.map(async (name) => ({ name, bytes: (await stat(join(profileDir, name))).size })),
  );
  const main = sized.sort((a, b) => b.bytes - a.bytes)[0];
  if (main === undefined)
    throw new Error(`no .cpuprofile in ${profileDir}: did the webhook exit cleanly on SIGTERM?`);
  const file = join(profileDir, main.name);
  note(`profile: ${file}`);
  return {
    scenario: `medium reviews, closed loop, ${context.plan.sockets} connections, log level ${logLevel}, ${Math.round(result.load.achievedRate)} reviews/s under the profiler; measured window only`,
    file,
    summary: await summariseProfileFile(file, { window: result.window }),
  };
}
