// How long and how hard each phase runs: the full benchmark and the smoke run that only proves it works.

export interface Plan {
  readonly mode: "full" | "smoke";
  /** ServiceAccounts the load server caches. */
  readonly baseServiceAccounts: number;
  /** Fresh servers started only to time readiness and read memory. */
  readonly memoryServiceAccounts: readonly number[];
  /** Keep-alive connections of the closed loop, each with one review in flight at most. */
  readonly sockets: number;
  /**
   * Connections the open loop may use: enough that requests queue in the webhook, not in the generator,
   * as the API server opens more connections when answers slow down.
   */
  readonly openLoopSockets: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Offered rates of the open-loop latency runs, reviews/s. */
  readonly rates: readonly number[];
  /**
   * The rate the null webhook is also run at in the open loop (the p99 goal's rate): what this machine and
   * harness show for a server that does no work, so the webhook's tail can be judged against it.
   */
  readonly controlRate: number;
  /**
   * Open-loop runs per rate; the report keeps the run with the median p99 and lists every run's p99. On a shared
   * VM a few seconds of interference can triple one run's tail, and one run would then speak for the rate.
   */
  readonly latencyRuns: number;
  /** Reviews sent at once in each burst, over openLoopSockets kept-alive connections. */
  readonly burstReviews: number;
  /** The quiet spell before each burst. */
  readonly burstIdleMs: number;
  readonly bursts: number;
  /**
   * The flood phase: up to floodReviews reviews of floodBytes at floodConcurrency at once, for as long as
   * the normal stream of medium reviews at floodNormalRate/s runs (floodDurationMs).
   */
  readonly floodBytes: number;
  readonly floodReviews: number;
  readonly floodConcurrency: number;
  readonly floodNormalRate: number;
  readonly floodDurationMs: number;
  /** Reviews per cache case (hit, miss, miss again, absent). */
  readonly missReviews: number;
  /** Delay of the mock API's single GETs during the cache cases. */
  readonly getDelayMs: number;
  /** Pause after ready before memory is read early, and between load phases. */
  readonly settleMs: number;
  /**
   * Time after ready at which a fresh memory server's memory is read again, at rest: V8's memory reducer
   * collects the initial list's garbage only 15–25 s after the process goes quiet.
   */
  readonly restMs: number;
  readonly readyTimeoutMs: number;
}

export const plans: Readonly<Record<Plan["mode"], Plan>> = {
  full: {
    mode: "full",
    baseServiceAccounts: 1_000,
    memoryServiceAccounts: [10_000, 100_000],
    sockets: 16,
    openLoopSockets: 64,
    warmupMs: 2_000,
    durationMs: 10_000,
    rates: [500, 2_000, 5_000],
    controlRate: 2_000,
    latencyRuns: 3,
    burstReviews: 500,
    burstIdleMs: 10_000,
    bursts: 3,
    floodBytes: 3_000_000,
    floodReviews: 500,
    floodConcurrency: 25,
    floodNormalRate: 200,
    floodDurationMs: 20_000,
    missReviews: 50,
    getDelayMs: 50,
    settleMs: 3_000,
    restMs: 40_000,
    readyTimeoutMs: 120_000,
  },
  smoke: {
    mode: "smoke",
    baseServiceAccounts: 200,
    memoryServiceAccounts: [2_000],
    sockets: 4,
    openLoopSockets: 16,
    warmupMs: 300,
    durationMs: 1_500,
    rates: [200, 1_000],
    controlRate: 1_000,
    latencyRuns: 1,
    burstReviews: 40,
    burstIdleMs: 300,
    bursts: 1,
    floodBytes: 3_000_000,
    floodReviews: 60,
    floodConcurrency: 25,
    floodNormalRate: 100,
    floodDurationMs: 2_000,
    missReviews: 5,
    getDelayMs: 50,
    settleMs: 300,
    restMs: 1_000,
    readyTimeoutMs: 60_000,
  },
};
