// The cluster's ServiceAccounts, listed once and kept current by a watch; a miss falls back to one live GET,
// rate-limited, whose 404 is remembered until its TTL ends or the watch adds the name.

import type { ServiceAccountRecord } from "../mutation/pod.js";
import { type RawServiceAccount, type ServiceAccountApi, statusOf } from "./api.js";
import { type Clock, systemClock, withDeadline } from "./clock.js";
import { noEvents, type ServiceAccountEvents, type ServiceAccountLogger } from "./events.js";
import { ListWatch, type ListWatchTimings } from "./list-watch.js";
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

export interface ServiceAccountCacheTimings extends ListWatchTimings {
  /** ServiceAccounts per list page. */
  readonly pageSize: number;
  /** Deadline of each list page. */
  readonly listPageTimeoutMs: number;
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

/**
 * Lists every ServiceAccount (paginated), then keeps them current through the list-then-watch loop
 * (`ListWatch`). While the watch is down the cache keeps answering from what it holds.
 */
export class ServiceAccountCache implements ServiceAccountSource {
  readonly #api: ServiceAccountApi;
  readonly #keep: KeepAnnotation;
  readonly #logger: ServiceAccountLogger;
  readonly #events: ServiceAccountEvents;
  readonly #clock: Clock;
  readonly #timings: ServiceAccountCacheTimings;
  readonly #lookups: LiveLookups;
  readonly #absent: AbsentServiceAccounts;
  readonly #loop: ListWatch<RawServiceAccount>;
  #index = new ServiceAccountIndex();

  constructor(deps: ServiceAccountCacheDeps, options: ServiceAccountCacheOptions) {
    this.#api = deps.api;
    this.#keep = deps.keepAnnotation;
    this.#logger = deps.logger;
    this.#events = deps.events ?? noEvents;
    this.#clock = deps.clock ?? systemClock;
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
    this.#loop = new ListWatch(
      {
        listed: "ServiceAccounts",
        watched: "ServiceAccount",
        list: (stopping) => this.#list(stopping),
        watch: (request, onEvent, onDone) => this.#api.watch(request, onEvent, onDone),
        change: (type, object) => this.#change(type, object),
        refusesStart: (error) => {
          const status = statusOf(error);
          if (status !== 401 && status !== 403) return undefined;
          return new Error(
            `cannot list ServiceAccounts: ${(error as Error).message}; the webhook's ServiceAccount needs get, list and watch on serviceaccounts in all namespaces (a ClusterRole)`,
            { cause: error },
          );
        },
      },
      {
        logger: this.#logger,
        clock: this.#clock,
        random: deps.random ?? Math.random,
        onWatchRestart: (reason) => this.#events.watchRestart(reason),
      },
      this.#timings,
    );
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
    return this.#loop.isReady();
  }

  size(): number {
    return this.#index.size;
  }

  start(): Promise<void> {
    return this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Lists every page into a new index, then swaps it in whole, so ServiceAccounts deleted meanwhile go. */
  async #list(stopping: AbortSignal): Promise<string> {
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
        stopping,
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
    this.#lookups.supersedeAll();
    this.#logger.info(
      { serviceAccounts: index.size, pages, resourceVersion, durationMs: this.#clock.now() - startedAt },
      "listed ServiceAccounts",
    );
    return resourceVersion;
  }

  #change(type: "ADDED" | "MODIFIED" | "DELETED", object: RawServiceAccount): void {
    const { namespace, name } = object.metadata ?? {};
    if (namespace === undefined || name === undefined) return;
    if (type === "DELETED") this.#index.delete(namespace, name);
    else {
      this.#put(this.#index, object);
      this.#absent.forget(namespace, name);
    }
    this.#lookups.supersede(namespace, name);
  }

  #put(index: ServiceAccountIndex, item: RawServiceAccount): void {
    const { namespace, name, annotations } = item.metadata ?? {};
    if (namespace === undefined || name === undefined) return;
    index.put(namespace, name, keptAnnotations(annotations, this.#keep));
  }
}
