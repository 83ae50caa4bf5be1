// The webhook's Prometheus metrics on a registry of its own, with one method per event other parts report.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** mutated: a non-empty patch; skipped: admitted unchanged; error: admitted unchanged because something failed; invalid: 4xx. */
export type ReviewOutcome = "mutated" | "skipped" | "error" | "invalid";

export interface Metrics {
  readonly registry: Registry;
  /** One finished review (or rejected /mutate request) and how long it took. */
  review(outcome: ReviewOutcome, reason: string, seconds: number): void;
  /** The ServiceAccount cache did not hold the ServiceAccount asked for. */
  cacheMiss(): void;
  /** A live ServiceAccount GET finished, e.g. "found", "not-found", "error", "timeout". */
  liveLookup(outcome: string): void;
  /** The ServiceAccount watch started again, e.g. "expired", "error", "closed". */
  watchRestart(reason: string): void;
  /** The served certificate's notAfter, in seconds since the epoch. */
  certificateExpiry(epochSeconds: number): void;
  /** Where the ServiceAccount cache size gauge reads from at each scrape. */
  cacheSizeFrom(size: () => number): void;
}

export interface MetricsOptions {
  /** process_* and nodejs_* metrics; off in tests that create many registries. */
  readonly defaultMetrics?: boolean;
}

const prefix = "web_identity_webhook_";
/** From half a millisecond (a cached ServiceAccount) to the API server's webhook timeout. */
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const reviews = new Counter({
    name: `${prefix}reviews_total`,
    help: "AdmissionReviews answered, by outcome (mutated, skipped, error, invalid) and reason",
    labelNames: ["outcome", "reason"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${prefix}review_duration_seconds`,
    help: "Time from receiving a review request to sending its answer",
    buckets: latencyBuckets,
    registers: [registry],
  });
  let cacheSize: () => number = () => 0;
  new Gauge({
    name: `${prefix}serviceaccount_cache_size`,
    help: "ServiceAccounts held by the cache",
    registers: [registry],
    collect() {
      this.set(cacheSize());
    },
  });
  const cacheMisses = new Counter({
    name: `${prefix}serviceaccount_cache_misses_total`,
    help: "Reviews whose ServiceAccount was not in the cache",
    registers: [registry],
  });
  const liveLookups = new Counter({
    name: `${prefix}serviceaccount_live_lookups_total`,
    help: "Live ServiceAccount GETs made on cache misses, by outcome",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const watchRestarts = new Counter({
    name: `${prefix}serviceaccount_watch_restarts_total`,
    help: "Times the ServiceAccount watch was started again, by reason",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const certificateExpiry = new Gauge({
    name: `${prefix}certificate_expiry_timestamp_seconds`,
    help: "notAfter of the serving certificate, in seconds since the epoch",
    registers: [registry],
  });

  // Label lookups hash their values; the review path reuses one child per (outcome, reason).
  const reviewCounters = new Map<string, Counter.Internal>();
  return {
    registry,
    review(outcome, reason, seconds) {
      const key = `${outcome}\n${reason}`;
      let counter = reviewCounters.get(key);
      if (counter === undefined) {
        counter = reviews.labels(outcome, reason);
        reviewCounters.set(key, counter);
      }
      counter.inc();
      latency.observe(seconds);
    },
    cacheMiss: () => cacheMisses.inc(),
    liveLookup: (outcome) => liveLookups.labels(outcome).inc(),
    watchRestart: (reason) => watchRestarts.labels(reason).inc(),
    certificateExpiry: (epochSeconds) => certificateExpiry.set(epochSeconds),
    cacheSizeFrom(size) {
      cacheSize = size;
    },
  };
}
