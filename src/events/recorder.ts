// Turns review warnings into Kubernetes Events off the review path: queued, aggregated into series, rate-limited, bounded.

import { type Clock, withDeadline } from "../serviceaccounts/clock.js";
import { TokenBucket } from "../serviceaccounts/rate-limit.js";
import { type EventApi, type EventSeries, type NewEvent, reportingController } from "./kube-api.js";
import type { EventNotice } from "./notice.js";

export type EventRequest = "create" | "patch";
/** queue-full: a new Event had no room (--events' queue holds maxEntries); api-error: the API server refused or did not answer. */
export type EventDropReason = "queue-full" | "api-error";

/** Counters for the server's metrics. */
export interface EventReports {
  /** One Event created, or one series count patched. */
  emitted(request: EventRequest): void;
  /** `occurrences` warnings that reached no Event. */
  dropped(reason: EventDropReason, occurrences: number): void;
}

export interface EventLogger {
  warn(fields: object, message: string): void;
}

export interface EventRecorderOptions {
  /** Distinct Events held at once (sent or waiting); a new one beyond is dropped. Bounds memory (~2 KiB each). */
  readonly maxEntries: number;
  /** API requests per second for all Events, and the burst allowed. */
  readonly ratePerSecond: number;
  readonly burst: number;
  /** How often the queue is sent. */
  readonly flushIntervalMs: number;
  /** Shortest time between two requests for one Event: a burst of occurrences in between is one count patch. */
  readonly updateIntervalMs: number;
  /** An Event not observed again for this long ends its series; a later occurrence starts a new Event. */
  readonly seriesWindowMs: number;
  readonly requestTimeoutMs: number;
  /** events.k8s.io/v1 reportingInstance: the webhook's pod name. */
  readonly reportingInstance: string;
}

export const defaultEventRecorderOptions: Omit<EventRecorderOptions, "reportingInstance"> = {
  maxEntries: 1024,
  ratePerSecond: 5,
  burst: 20,
  flushIntervalMs: 1000,
  updateIntervalMs: 10_000,
  // client-go's events library ends a series after 6 minutes without an occurrence, too.
  seriesWindowMs: 6 * 60_000,
  requestTimeoutMs: 5000,
};

export interface EventRecorderDeps {
  readonly api: EventApi;
  readonly clock: Clock;
  readonly logger: EventLogger;
  readonly reports: EventReports;
}

interface Entry {
  readonly notice: EventNotice;
  readonly key: string;
  /** The Event's name once created. */
  name: string | undefined;
  /** Occurrences in this series, and how many the API server has been told of. */
  count: number;
  sentCount: number;
  firstObservedAt: number;
  lastObservedAt: number;
  /** When the last request for this Event was sent; 0 before the first. */
  sentAt: number;
}

/** What the review route calls: record() returns at once and never throws. */
export interface EventSink {
  record(notice: EventNotice): void;
}

export class EventRecorder implements EventSink {
  readonly #deps: EventRecorderDeps;
  readonly #options: EventRecorderOptions;
  readonly #bucket: TokenBucket;
  readonly #entries = new Map<string, Entry>();
  readonly #dirty = new Set<Entry>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #sequence = 0;

  constructor(deps: EventRecorderDeps, options: EventRecorderOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#bucket = new TokenBucket(deps.clock, {
      ratePerSecond: options.ratePerSecond,
      burst: options.burst,
    });
  }

  /** Counts one occurrence; O(1), no I/O: the Event is sent by the loop. */
  record(notice: EventNotice): void {
    const { regarding } = notice;
    const key = `${regarding.namespace}\0${regarding.kind}\0${regarding.name}\0${regarding.uid ?? ""}\0${notice.reason}\0${notice.note}`;
    const now = this.#deps.clock.now();
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      entry.count++;
      entry.lastObservedAt = now;
      this.#dirty.add(entry);
      return;
    }
    if (this.#entries.size >= this.#options.maxEntries) {
      this.#deps.reports.dropped("queue-full", 1);
      return;
    }
    const created: Entry = {
      notice,
      key,
      name: undefined,
      count: 1,
      sentCount: 0,
      firstObservedAt: now,
      lastObservedAt: now,
      sentAt: 0,
    };
    this.#entries.set(key, created);
    this.#dirty.add(created);
  }

  /** Distinct Events held (for tests and the log). */
  size(): number {
    return this.#entries.size;
  }

  /** Starts the loop that sends the queue every flushIntervalMs. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops the loop; a request in flight is aborted, what is queued is not sent. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      await this.#deps.clock.sleep(this.#options.flushIntervalMs, signal);
      if (signal.aborted) return;
      await this.flush(signal);
    }
  }

  /** Sends what is due, within the rate limit, and forgets series that ended. Exposed for tests. */
  async flush(signal: AbortSignal = this.#stop.signal): Promise<void> {
    const now = this.#deps.clock.now();
    for (const entry of this.#entries.values()) {
      if (!this.#dirty.has(entry) && now - entry.lastObservedAt >= this.#options.seriesWindowMs)
        this.#entries.delete(entry.key);
    }
    for (const entry of [...this.#dirty]) {
      if (signal.aborted) return;
      if (entry.sentAt !== 0 && now - entry.sentAt < this.#options.updateIntervalMs) continue;
      if (!this.#bucket.take()) return;
      this.#dirty.delete(entry);
      await this.#send(entry, signal);
    }
  }

  async #send(entry: Entry, signal: AbortSignal): Promise<void> {
    const count = entry.count;
    const lastObservedAt = entry.lastObservedAt;
    entry.sentAt = this.#deps.clock.now();
    const { api, clock, reports, logger } = this.#deps;
    const timeoutMs = this.#options.requestTimeoutMs;
    const timedOut = () => new Error(`no answer within ${timeoutMs} ms`);
    const series: EventSeries = { count, lastObservedTime: microTime(lastObservedAt) };
    try {
      const name = entry.name;
      if (name !== undefined) {
        const patched = await withDeadline(
          clock,
          timeoutMs,
          signal,
          (requestSignal) => api.patchSeries(entry.notice.regarding.namespace, name, series, requestSignal),
          timedOut,
        );
        if (patched) {
          entry.sentCount = count;
          reports.emitted("patch");
          return;
        }
        // The API server dropped the Event (its --event-ttl, an hour by default): a new one carries the count.
        entry.name = undefined;
      }
      const event = this.#newEvent(entry, count, series);
      await withDeadline(
        clock,
        timeoutMs,
        signal,
        (requestSignal) => api.create(event, requestSignal),
        timedOut,
      );
      entry.name = event.metadata.name;
      entry.sentCount = count;
      reports.emitted("create");
    } catch (error) {
      if (signal.aborted) return;
      // Those occurrences are given up, not retried: a refusing API server (e.g. no RBAC) gets no more requests
      // than the rate limit allows, and the next occurrence tries again.
      reports.dropped("api-error", count - entry.sentCount);
      entry.sentCount = count;
      const { regarding } = entry.notice;
      logger.warn(
        {
          regarding: `${regarding.kind} ${regarding.namespace}/${regarding.name}`,
          reason: entry.notice.reason,
          error: error instanceof Error ? error.message : String(error),
        },
        "cannot record Event",
      );
    }
  }

  #newEvent(entry: Entry, count: number, series: EventSeries): NewEvent {
    const { notice } = entry;
    // Unique among this webhook's Events: the time it is sent and a sequence number, as client-go's name.
    const suffix = `${this.#deps.clock.now().toString(16)}${(this.#sequence++).toString(16)}`;
    return {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: {
        name: `${notice.regarding.name.slice(0, 200)}.${suffix}`,
        namespace: notice.regarding.namespace,
      },
      eventTime: microTime(entry.firstObservedAt),
      reportingController,
      reportingInstance: this.#options.reportingInstance,
      action: "Admit",
      reason: notice.reason,
      note: notice.note,
      type: "Warning",
      regarding: notice.regarding,
      ...(notice.related !== undefined ? { related: notice.related } : {}),
      // events.k8s.io/v1 refuses a series with a count under 2 on create.
      ...(count >= 2 ? { series } : {}),
    };
  }
}

/** MicroTime as the API server writes it: RFC 3339 with six fractional digits. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}
