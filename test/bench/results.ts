// The shape of a benchmark run's results, as written to results.json.
import type { LatencySummary } from "./latency.js";

import type { LoadResult } from "./load-protocol.js";
import type { MachineRecord } from "./machine.js";
import type { ProfileSummary } from "./profile-summary.js";
import type { ReviewSize } from "./reviews.js";
import type { Memory } from "./webhook-process.js";

export interface ServerCost {
  /** Webhook CPU (user + system) per completed review in the measured window, microseconds. */
  readonly cpuMicrosPerReview: number;
  /** Webhook CPU in the measured window as a share of one core. */
  readonly cpuCores: number;
  /** Log bytes the webhook wrote per completed review. */
  readonly logBytesPerReview: number;
  /** Cores busy with neither the webhook nor the load generator during the window: other load on the machine. */
  readonly otherCores: number;
  /**
   * The webhook's own handling time of the window's reviews, from its log (durationMs: the request's head
   * arriving to the answer); absent when it logs no line per review.
   */
  readonly handling?: LatencySummary;
}

/** "webhook" is the product; "null-webhook" answers without work, the harness's own ceiling and floor. */
export type ServerKind = "webhook" | "null-webhook";

export interface ThroughputResult extends ServerCost {
  readonly size: ReviewSize;
  readonly server: ServerKind;
  readonly logLevel: string;
  readonly load: LoadResult;
}

/** The run with the median p99 among `plan.latencyRuns` runs at one rate. */
export interface LatencyResult extends ServerCost {
  readonly server: ServerKind;
  readonly offeredRate: number;
  readonly load: LoadResult;
  /** The p99 of every run at this rate, in the order they ran. */
  readonly runsP99Ms: readonly number[];
}

/** Bursts of reviews at once after a quiet spell, on the load server. */
export interface BurstResult {
  readonly reviews: number;
  readonly sockets: number;
  readonly idleMs: number;
  /** `bursts` holds each burst; `latency` all of them together. */
  readonly load: LoadResult;
}

/** A fresh server's startup; the Memory fields are the early reading, `settleMs` after ready. */
export interface StartupResult extends Memory {
  readonly serviceAccounts: number;
  /** Spawn of the process to the first /readyz 200. */
  readonly startToReadyMs: number;
  /** The mock API sending the last list page to the first /readyz 200. */
  readonly lastPageToReadyMs: number;
  readonly listPages: number;
  /** TLS connections the webhook opened to the mock API while starting (list pages, watch, probes). */
  readonly apiConnections: number;
  /** The mock API sending the last list page to the webhook's "ready" log line (1 ms resolution, no polling). */
  readonly lastPageToReadyLogMs?: number;
  /** How long the webhook says its list took ("listed ServiceAccounts" durationMs). */
  readonly listDurationMs?: number;
  /** Size of the ServiceAccount cache the webhook reports, when a log line names it. */
  readonly cachedReported?: number;
  /** Memory `restMs` after ready with no load, once the list's garbage is collected (memory servers only). */
  readonly atRest?: Memory;
}

/** Large reviews flooding a fresh webhook while normal ones keep coming: what memory and their tail do. */
export interface FloodResult {
  readonly reviewBytes: number;
  readonly concurrency: number;
  /** `serve` flags of the flooded webhook beyond the bench's (a body limit raised so the flood is read). */
  readonly serveArgs: readonly string[];
  readonly sent: number;
  /** The flood's answers by status ("200", "429", ...; "reset": closed before an answer). */
  readonly answers: Readonly<Record<string, number>>;
  readonly floodSeconds: number;
  /** The medium reviews sent beside it, open loop. */
  readonly normal: LoadResult;
  /** Before the flood, the most seen while it ran (sampled every 50 ms), VmHWM at its end, 2 s after. */
  readonly before: Memory;
  readonly sampledPeakRssMiB: number;
  readonly peakRssMiB: number;
  readonly after: Memory;
}

export interface CacheMissResult {
  readonly getDelayMs: number;
  /** Single GETs the mock API answered during the four cases. */
  readonly gets: number;
  /** The ServiceAccount is in the cache. */
  readonly hit: LoadResult;
  /** Not in the list, found by a live GET; each name once. */
  readonly miss: LoadResult;
  /** The same names again: whether a live answer is remembered. */
  readonly missAgain: LoadResult;
  /** Neither listed nor found by GET (404). */
  readonly absent: LoadResult;
}

export interface ProfileResult {
  readonly scenario: string;
  /** The .cpuprofile (git-ignored; open it in Chrome DevTools or speedscope). */
  readonly file: string;
  readonly summary: ProfileSummary;
}

export interface BenchResults {
  readonly machine: MachineRecord;
  readonly mode: "full" | "smoke";
  readonly settings: {
    readonly sockets: number;
    readonly openLoopSockets: number;
    readonly warmupMs: number;
    readonly durationMs: number;
    /** After ready: the early memory reading, and the one at rest. */
    readonly settleMs: number;
    readonly restMs: number;
    readonly baseServiceAccounts: number;
    readonly logLevel: string;
    /** Node options of the webhook process only: the Dockerfile ENTRYPOINT's unless --node-option is given. */
    readonly webhookNodeOptions: readonly string[];
    readonly requestBytes: Readonly<Record<ReviewSize, number>>;
  };
  readonly startup: readonly StartupResult[];
  /** The webhook at each size, at a quieter log level, and the null webhook. */
  readonly throughput: readonly ThroughputResult[];
  readonly latency: readonly LatencyResult[];
  /** The null webhook in the open loop at plan.controlRate: the floor of this machine and harness. */
  readonly nullLatency: LatencyResult;
  readonly burst: BurstResult;
  readonly flood: FloodResult;
  readonly cacheMiss: CacheMissResult;
  /** Memory of the load server after all load phases. */
  readonly afterLoad: Memory;
  readonly profile?: ProfileResult;
  /** Requests the mock API could not answer: a sign the webhook's client changed. */
  readonly mockApiUnexpected: readonly string[];
}
