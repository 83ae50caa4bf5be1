// What run.ts asks of the load generator (argv JSON) and what it answers (stdout JSON).

import type { LatencySummary } from "./latency.js";
import type { ReviewSize } from "./reviews.js";

export interface LoadTarget {
  readonly host: string;
  readonly port: number;
  readonly caPath: string;
}

/** Whether a successful review must carry a patch (the ServiceAccount names a role) or none. */
export type PatchExpectation = "patch" | "no-patch";

export type LoadJob =
  /** `sockets` requests always in flight; the maximum throughput. */
  | {
      readonly kind: "closed";
      readonly target: LoadTarget;
      readonly size: ReviewSize;
      readonly sockets: number;
      readonly warmupMs: number;
      readonly durationMs: number;
    }
  /** Requests scheduled at a fixed rate whatever the answers do; latency counts from the scheduled time. */
  | {
      readonly kind: "open";
      readonly target: LoadTarget;
      readonly size: ReviewSize;
      readonly sockets: number;
      readonly ratePerSecond: number;
      readonly warmupMs: number;
      readonly durationMs: number;
    }
  /**
   * `bursts` times: `idleMs` without a request, then `reviews` reviews at once over `sockets` connections opened
   * (and used once) before the first pause, as the API server's kept-alive connections are when a Deployment
   * is scaled up after a quiet spell. Latency runs from the burst's start: when each pod's review was answered.
   */
  | {
      readonly kind: "burst";
      readonly target: LoadTarget;
      readonly size: ReviewSize;
      readonly sockets: number;
      readonly reviews: number;
      readonly idleMs: number;
      readonly bursts: number;
    }
  /** One request at a time, one per ServiceAccount name, e.g. to time cache misses. */
  | {
      readonly kind: "sequential";
      readonly target: LoadTarget;
      readonly size: ReviewSize;
      readonly serviceAccounts: readonly string[];
      readonly expect: PatchExpectation;
    };

export interface LoadResult {
  readonly kind: LoadJob["kind"];
  readonly size: ReviewSize;
  readonly requestBytes: number;
  /** Seconds of the measured window (after warm-up). */
  readonly seconds: number;
  readonly completed: number;
  /** Reviews per second completed in the measured window. */
  readonly achievedRate: number;
  readonly errors: number;
  /** Error counts by kind: "status 500", "invalid response: ...", "unsupported response framing: ...", socket error codes. */
  readonly errorKinds: Readonly<Record<string, number>>;
  /** Responses checked in full (uid echoed, allowed, patch as expected). */
  readonly validated: number;
  /** Open loop: from the scheduled send time; otherwise from the actual send. */
  readonly latency: LatencySummary;
  /** Open loop only: from the actual send; and how late it was sent (timer lateness plus waiting for a free connection). */
  readonly serviceTime?: LatencySummary;
  readonly sendLag?: LatencySummary;
  /** Cores the load generator used, averaged over the whole job (warm-up included). */
  readonly generatorCores: number;
  /** Burst jobs: each burst on its own, latency from its start; `latency` above summarises them all. */
  readonly bursts?: readonly BurstSummary[];
}

export interface BurstSummary {
  /** From the burst's start to its last answer. */
  readonly allAnsweredMs: number;
  readonly errors: number;
  readonly latency: LatencySummary;
}

/** Lines the load generator writes on stdout, in order: the window's edges (timed runs only), then the result. */
export type LoadMessage =
  | { readonly event: "window-start" }
  | { readonly event: "window-end" }
  | { readonly event: "result"; readonly result: LoadResult };
