// The cluster's ServiceAccounts, listed once and kept current by a watch; a miss falls back to one live GET,
// rate-limited, whose 404 is remembered until its TTL ends or the watch adds the name.

import type { ServiceAccountRecord } from "../mutation/pod.js";
import {
  type RawServiceAccount,
  type ServiceAccountApi,
  type ServiceAccountWatchEvent,
  statusOf,
} from "./api.js";
import { backoffDelay } from "./backoff.js";
import { type Clock, systemClock, withDeadline } from "./clock.js";
import {
  noEvents,
  type ServiceAccountEvents,
  type ServiceAccountLogger,
  type WatchRestartReason,
} from "./events.js";
import { LiveLookups } from "./live-lookup.js";
import { AbsentServiceAccounts } from "./negative-cache.js";
import { TokenBucket } from "./rate-limit.js";
import { type KeepAnnotation, keptAnnotations, ServiceAccountIndex } from "./records.js";
import type { ServiceAccountSource } from "./source.js";

export interface ServiceAccountCacheDeps {
  readonly api: ServiceAccountApi;
  /** Which annotations a record keeps, e.g. `(key) => isRelevantAnnotation(key, prefix)`. */
  readonly keepAnnotation: KeepAnnotation;
  readonly logger: ServiceAccountLogger;
  readonly events?: ServiceAccountEvents;
  readonly clock?: Clock;
  /** Uniform in [0, 1); jitters retries and watch lifetimes. */
  readonly random?: () => number;
}

export interface ServiceAccountCacheTimings {
  /** ServiceAccounts per list page. */
  readonly pageSize: number;
  /** Deadline of each list page. */
  readonly listPageTimeoutMs: number;
  /** The server ends each watch after this long times 1..2 (spread so replicas do not reconnect together). */
  readonly watchTimeoutSeconds: number;
  /** A watch still open this long after its server-side timeout is presumed dead (e.g. a half-open connection). */
  readonly watchGraceMs: number;
  /** First retry delay after a failure; doubles per consecutive failure up to retryMaxMs. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** A watch that stayed open this long resets the failure count. */
  readonly healthyAfterMs: number;
  /** How long a live GET's 404 is believed (`--negative-cache-ttl`); 0 turns the negative cache off. */
  readonly negativeCacheTtlMs: number;
  /** Most absent names remembered; the rate limit already bounds how fast they come (at most burst + rate × TTL). */
  readonly negativeCacheMaxEntries: number;
  /** Live GETs per second on misses (`--lookup-rate`); the bucket holds `lookupBurstSeconds` of them. */
  readonly lookupRatePerSecond: number;
  readonly lookupBurstSeconds: number;
}

export interface ServiceAccountCacheOptions extends Partial<ServiceAccountCacheTimings> {
  /** Deadline of the live GET on a cache miss (`--lookup-timeout`). */
  readonly lookupTimeoutMs: number;
}

export const defaultCacheTimings: ServiceAccountCacheTimings = {
  pageSize: 500,
  listPageTimeoutMs: 60_000,
  watchTimeoutSeconds: 300,
  watchGraceMs: 30_000,
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
  healthyAfterMs: 60_000,
  negativeCacheTtlMs: 5_000,
  negativeCacheMaxEntries: 10_000,
  lookupRatePerSecond: 20,
  lookupBurstSeconds: 2,
};

interface WatchEnd {
  readonly reason: WatchRestartReason;
  readonly error: Error | undefined;
  readonly ranMs: number;
}

/**
 * Lists every ServiceAccount (paginated), then watches from the list's resourceVersion: bookmarks keep the
 * resourceVersion fresh, an expired one (410) means listing again, and an ended or failed watch is resumed
 * with jittered exponential backoff. While the watch is down the cache keeps answering from what it holds.
 */
export class ServiceAccountCache implements ServiceAccountSource {
  readonly #api: ServiceAccountApi;
  readonly #keep: KeepAnnotation;
  readonly #logger: ServiceAccountLogger;
  readonly #events: ServiceAccountEvents;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #timings: ServiceAccountCacheTimings;
  readonly #lookups: LiveLookups;
  readonly #absent: AbsentServiceAccounts;
  readonly #stopping = new AbortController();
  #index = new ServiceAccountIndex();
  #resourceVersion = "";
  #failures = 0;
  #ready = false;
  #started: Promise<void> | undefined;
  #settleStart: { resolve(): void; reject(error: Error): void } | undefined;
  #running: Promise<void> | undefined;

  constructor(deps: ServiceAccountCacheDeps, options: ServiceAccountCacheOptions) {
    this.#api = deps.api;
    this.#keep = deps.keepAnnotation;
    this.#logger = deps.logger;
    this.#events = deps.events ?? noEvents;
    this.#clock = deps.clock ?? systemClock;
    this.#random = deps.random ?? Math.random;
    const { lookupTimeoutMs, ...timings } = options;
    this.#timings = { ...defaultCacheTimings, ...timings };
    const { negativeCacheTtlMs, negativeCacheMaxEntries, lookupRatePerSecond, lookupBurstSeconds } =
      this.#timings;
    this.#absent = new AbsentServiceAccounts(this.#clock, {
      ttlMs: negativeCacheTtlMs,
      maxEntries: negativeCacheMaxEntries,
    });
    this.#lookups = new LiveLookups({
      api: this.#api,
      clock: this.#clock,
      keepAnnotation: this.#keep,
      events: this.#events,
      logger: this.#logger,
      timeoutMs: lookupTimeoutMs,
      rateLimit: new TokenBucket(this.#clock, {
        ratePerSecond: lookupRatePerSecond,
        burst: Math.max(1, Math.round(lookupRatePerSecond * lookupBurstSeconds)),
      }),
      absent: this.#absent,
      current: (namespace, name) => this.#index.get(namespace, name),
      remember: (namespace, name, annotations) => this.#index.put(namespace, name, annotations),
    });
  }

  peek(namespace: string, name: string): ServiceAccountRecord | undefined {
    return this.#index.get(namespace, name);
  }

  get(namespace: string, name: string): Promise<ServiceAccountRecord | undefined> {
    const record = this.#index.get(namespace, name);
    if (record !== undefined) return Promise.resolve(record);
    if (this.#absent.has(namespace, name)) {
      this.#events.negativeCacheHit();
      return Promise.resolve(undefined);
    }
    this.#events.cacheMiss();
    return this.#lookups.get(namespace, name);
  }

  isReady(): boolean {
    return this.#ready;
  }

  size(): number {
    return this.#index.size;
  }

  start(): Promise<void> {
    if (this.#started === undefined) {
      this.#started = new Promise((resolve, reject) => {
        this.#settleStart = { resolve, reject };
      });
      this.#running = this.#run();
    }
    return this.#started;
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const stopping = this.#stopping.signal;
    let mustList = true;
    while (!stopping.aborted) {
      if (mustList) {
        try {
          await this.#list();
          mustList = false;
        } catch (error) {
          if (stopping.aborted) break;
          const status = statusOf(error);
          if (!this.#ready && (status === 401 || status === 403)) {
            this.#failStart(
              new Error(
                `cannot list ServiceAccounts: ${(error as Error).message}; the webhook's ServiceAccount needs get, list and watch on serviceaccounts in all namespaces (a ClusterRole)`,
                { cause: error },
              ),
            );
            return;
          }
          const retryInMs = this.#nextRetryDelay();
          this.#logger.warn({ err: error, retryInMs }, "listing ServiceAccounts failed");
          await this.#clock.sleep(retryInMs, stopping);
          continue;
        }
      }
      const end = await this.#watch();
      if (stopping.aborted) break;
      if (end.reason === "expired") mustList = true;
      if (end.ranMs >= this.#timings.healthyAfterMs) this.#failures = 0;
      this.#events.watchRestart(end.reason);
      const retryInMs = this.#nextRetryDelay();
      const fields = { reason: end.reason, err: end.error, ranMs: end.ranMs, retryInMs };
      if (end.reason === "closed" || end.reason === "expired")
        this.#logger.debug(fields, "the ServiceAccount watch ended");
      else this.#logger.warn(fields, "the ServiceAccount watch failed");
      await this.#clock.sleep(retryInMs, stopping);
    }
    this.#failStart(new Error("the ServiceAccount cache was stopped before its first list completed"));
  }

  #nextRetryDelay(): number {
    this.#failures++;
    const { retryBaseMs, retryMaxMs } = this.#timings;
    return backoffDelay(this.#failures, { baseMs: retryBaseMs, maxMs: retryMaxMs }, this.#random);
  }

  /** Lists every page into a new index, then swaps it in whole, so ServiceAccounts deleted meanwhile go. */
  async #list(): Promise<void> {
    const { pageSize, listPageTimeoutMs } = this.#timings;
    const startedAt = this.#clock.now();
    const index = new ServiceAccountIndex();
    let pages = 0;
    let resourceVersion = "";
    let token: string | undefined;
    do {
      const request = token === undefined ? { limit: pageSize } : { limit: pageSize, continue: token };
      const page = await withDeadline(
        this.#clock,
        listPageTimeoutMs,
        this.#stopping.signal,
        (signal) => this.#api.list(request, signal),
        () =>
          new Error(`listing ServiceAccounts timed out after ${listPageTimeoutMs}ms on page ${pages + 1}`),
      );
      pages++;
      for (const item of page.items) this.#put(index, item);
      resourceVersion = page.resourceVersion;
      token = page.continue;
    } while (token !== undefined);
    this.#index = index;
    this.#resourceVersion = resourceVersion;
    this.#lookups.supersedeAll();
    this.#logger.info(
      { serviceAccounts: index.size, pages, resourceVersion, durationMs: this.#clock.now() - startedAt },
      "listed ServiceAccounts",
    );
    if (!this.#ready) {
      this.#ready = true;
      this.#settleStart?.resolve();
    }
  }

  /** One watch, from open to end; resolves (never rejects) with why it ended. */
  #watch(): Promise<WatchEnd> {
    const startedAt = this.#clock.now();
    const stopping = this.#stopping.signal;
    const { watchTimeoutSeconds, watchGraceMs } = this.#timings;
    const timeoutSeconds = Math.round(watchTimeoutSeconds * (1 + this.#random()));
    return new Promise<WatchEnd>((resolve) => {
      const deadline = new AbortController();
      let handle: { abort(): void } | undefined;
      let ended = false;
      const end = (reason: WatchRestartReason, error?: Error) => {
        if (ended) return;
        ended = true;
        deadline.abort();
        stopping.removeEventListener("abort", onStop);
        handle?.abort();
        resolve({ reason, error, ranMs: this.#clock.now() - startedAt });
      };
      const onStop = () => end("closed");
      stopping.addEventListener("abort", onStop, { once: true });
      void this.#clock.sleep(timeoutSeconds * 1000 + watchGraceMs, deadline.signal).then(() => {
        if (!deadline.signal.aborted)
          end(
            "deadline",
            new Error(`the watch was still open ${watchGraceMs}ms after its ${timeoutSeconds}s timeout`),
          );
      });
      this.#api
        .watch(
          { resourceVersion: this.#resourceVersion, timeoutSeconds },
          (event) => {
            if (!ended) this.#apply(event, end);
          },
          (error) =>
            end(error === undefined ? "closed" : statusOf(error) === 410 ? "expired" : "error", error),
        )
        .then(
          (opened) => {
            handle = opened;
            if (ended) opened.abort();
          },
          (error: unknown) => end("error", error instanceof Error ? error : new Error(String(error))),
        );
    });
  }

  #apply(event: ServiceAccountWatchEvent, end: (reason: WatchRestartReason, error?: Error) => void): void {
    switch (event.type) {
      case "ADDED":
      case "MODIFIED":
      case "DELETED": {
        const metadata = event.object.metadata;
        const { namespace, name } = metadata ?? {};
        if (namespace !== undefined && name !== undefined) {
          if (event.type === "DELETED") this.#index.delete(namespace, name);
          else {
            this.#put(this.#index, event.object);
            this.#absent.forget(namespace, name);
          }
          this.#lookups.supersede(namespace, name);
        }
        if (metadata?.resourceVersion) this.#resourceVersion = metadata.resourceVersion;
        return;
      }
      case "BOOKMARK":
        if (event.resourceVersion) this.#resourceVersion = event.resourceVersion;
        return;
      case "ERROR":
        end(
          event.code === 410 ? "expired" : "error",
          new Error(`the ServiceAccount watch reported ${event.code ?? "an error"}: ${event.message}`),
        );
        return;
    }
  }

  #put(index: ServiceAccountIndex, item: RawServiceAccount): void {
    const { namespace, name, annotations } = item.metadata ?? {};
    if (namespace === undefined || name === undefined) return;
    index.put(namespace, name, keptAnnotations(annotations, this.#keep));
  }

  #failStart(error: Error): void {
    if (this.#ready) return;
    this.#settleStart?.reject(error);
  }
}
