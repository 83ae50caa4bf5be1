// The webhook's Prometheus metrics on a registry of its own, with one method per event other parts report.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry, Summary } from "prom-client";
import type { AdmissionLimits, OverloadLimit } from "./admission-limits.js";

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
  /** A ServiceAccount a live GET recently found absent was answered absent again, without a GET. */
  negativeCacheHit(): void;
  /** A cache miss was refused without a GET because the live lookups' rate limit was spent. */
  lookupRateLimited(): void;
  /** The ServiceAccount watch started again, e.g. "expired", "error", "closed". */
  watchRestart(reason: string): void;
  /** The served certificate's notAfter, in seconds since the epoch. */
  certificateExpiry(epochSeconds: number): void;
  /** Where the ServiceAccount cache size gauge reads from at each scrape. */
  cacheSizeFrom(size: () => number): void;
  /** A /mutate request answered 429 because a cap on work in flight was full. */
  overloaded(limit: OverloadLimit): void;
  /** Where the reviews and request bytes in flight gauges read from at each scrape. */
  inFlightFrom(limits: Pick<AdmissionLimits, "reviewsInFlight" | "bytesInFlight">): void;
  /** One answered request to /mutate, any status (the reference webhook's http_request_* metrics). */
  httpRequest(verb: string, path: string, code: number, seconds: number): void;
  /** One Kubernetes Event created ("create") or its series count patched ("patch"). */
  eventEmitted(request: string): void;
  /** Review warnings that reached no Event, by reason (queue-full, api-error). */
  eventsDropped(reason: string, occurrences: number): void;
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
  const negativeCacheHits = new Counter({
    name: `${prefix}serviceaccount_negative_cache_hits_total`,
    help: "Reviews whose ServiceAccount a recent live GET found absent, answered without another GET",
    registers: [registry],
  });
  const lookupsRateLimited = new Counter({
    name: `${prefix}serviceaccount_lookups_rate_limited_total`,
    help: "Cache misses refused without a GET by --lookup-rate; their pods were admitted without credentials",
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

  const overloaded = new Counter({
    name: `${prefix}reviews_overloaded_total`,
    help: "/mutate requests answered 429 (Retry-After) because a cap was full, by limit (reviews-in-flight, bytes-in-flight)",
    labelNames: ["limit"] as const,
    registers: [registry],
  });
  let inFlight: Pick<AdmissionLimits, "reviewsInFlight" | "bytesInFlight"> = {
    reviewsInFlight: () => 0,
    bytesInFlight: () => 0,
  };
  new Gauge({
    name: `${prefix}reviews_in_flight`,
    help: "/mutate requests received and not yet answered",
    registers: [registry],
    collect() {
      this.set(inFlight.reviewsInFlight());
    },
  });
  new Gauge({
    name: `${prefix}request_bytes_in_flight`,
    help: "Body bytes those requests declared, charged against --max-bytes-in-flight",
    registers: [registry],
    collect() {
      this.set(inFlight.bytesInFlight());
    },
  });

  const eventsEmitted = new Counter({
    name: `${prefix}events_emitted_total`,
    help: "Kubernetes Events created, or their series count patched, for review warnings, by request (create, patch)",
    labelNames: ["request"] as const,
    registers: [registry],
  });
  const eventsDropped = new Counter({
    name: `${prefix}events_dropped_total`,
    help: "Review warnings that reached no Kubernetes Event, by reason (queue-full, api-error)",
    labelNames: ["reason"] as const,
    registers: [registry],
  });

  const reference = referenceMetrics(registry);

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
      reference.review(reason);
    },
    cacheMiss: () => cacheMisses.inc(),
    liveLookup: (outcome) => liveLookups.labels(outcome).inc(),
    negativeCacheHit: () => negativeCacheHits.inc(),
    lookupRateLimited: () => lookupsRateLimited.inc(),
    watchRestart: (reason) => watchRestarts.labels(reason).inc(),
    certificateExpiry: (epochSeconds) => certificateExpiry.set(epochSeconds),
    cacheSizeFrom(size) {
      cacheSize = size;
    },
    overloaded: (limit) => overloaded.labels(limit).inc(),
    inFlightFrom(limits) {
      inFlight = limits;
    },
    httpRequest: reference.httpRequest,
    eventEmitted: (request) => eventsEmitted.labels(request).inc(),
    eventsDropped: (reason, occurrences) => eventsDropped.labels(reason).inc(occurrences),
  };
}

/** Review reasons the reference webhook counts as a ServiceAccount it could not find (absent, or not in time). */
const missingServiceAccountReasons: ReadonlySet<string> = new Set(["no-serviceaccount", "lookup-failed"]);

/**
 * The reference webhook's metrics (aws/amazon-eks-pod-identity-webhook pkg/handler/middleware.go and
 * pkg/cache/cache.go), by its names, types, labels and units, so that its dashboards and alerts keep working.
 */
function referenceMetrics(registry: Registry) {
  const podCount = new Counter({
    name: "pod_identity_webhook_pod_count",
    help: "Pods given credentials, by method (sts_web_identity); the reference webhook's name",
    labelNames: ["method"] as const,
    registers: [registry],
  });
  const missingServiceAccounts = new Counter({
    name: "pod_identity_webhook_missing_sa_count",
    help: "Pods whose ServiceAccount was not found, or not in time; the reference webhook's name",
    registers: [registry],
  });
  const used = new Gauge({
    name: "pod_identity_webhook_used",
    help: "1 once a pod has been given credentials; the reference webhook's name",
    registers: [registry],
  });
  const requests = new Counter({
    name: "http_request_count",
    help: "Requests to /mutate by verb, path and response code; the reference webhook's name",
    labelNames: ["verb", "path", "code"] as const,
    registers: [registry],
  });
  const latencies = new Histogram({
    name: "http_request_latencies",
    help: "Response latency of /mutate in microseconds by verb and path; the reference webhook's name and buckets",
    labelNames: ["verb", "path"] as const,
    // The reference's prometheus.ExponentialBuckets(125000, 2, 7): 125 ms to 8 s, in microseconds.
    buckets: [125000, 250000, 500000, 1000000, 2000000, 4000000, 8000000],
    registers: [registry],
  });
  const latencySummary = new Summary({
    name: "http_request_duration_microseconds",
    help: "Response latency summary of /mutate in microseconds by verb and path; the reference webhook's name",
    labelNames: ["verb", "path"] as const,
    // The reference's summary has no quantiles (client_golang's default), only _sum and _count, over an hour.
    percentiles: [],
    maxAgeSeconds: 3600,
    ageBuckets: 5,
    registers: [registry],
  });
  const stsWebIdentityPods = podCount.labels("sts_web_identity");
  const requestChildren = new Map<
    string,
    {
      count: Counter.Internal;
      latency: Histogram.Internal<"verb" | "path">;
      summary: Summary.Internal<"verb" | "path">;
    }
  >();
  return {
    review(reason: string): void {
      if (reason === "mutated") {
        stsWebIdentityPods.inc();
        used.set(1);
      } else if (missingServiceAccountReasons.has(reason)) missingServiceAccounts.inc();
    },
    httpRequest(verb: string, path: string, code: number, seconds: number): void {
      const key = `${verb} ${path} ${code}`;
      let children = requestChildren.get(key);
      if (children === undefined) {
        children = {
          count: requests.labels(verb, path, String(code)),
          latency: latencies.labels(verb, path),
          summary: latencySummary.labels(verb, path),
        };
        requestChildren.set(key, children);
      }
      const microseconds = Math.floor(seconds * 1e6);
      children.count.inc();
      children.latency.observe(microseconds);
      children.summary.observe(microseconds);
    },
  };
}
