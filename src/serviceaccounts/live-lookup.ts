// On a cache miss, one GET of the ServiceAccount from the API server, shared by concurrent misses, bounded in time
// and in rate; a 404 is remembered for a few seconds.

import type { ServiceAccountRecord } from "../mutation/pod.js";
import type { RawServiceAccount, ServiceAccountApi } from "./api.js";
import { type Clock, withDeadline } from "./clock.js";
import type { ServiceAccountEvents, ServiceAccountLogger } from "./events.js";
import type { AbsentServiceAccounts } from "./negative-cache.js";
import type { TokenBucket } from "./rate-limit.js";
import { type KeepAnnotation, keptAnnotations, serviceAccountRecord } from "./records.js";

/** Why a live lookup could not tell whether the ServiceAccount exists. */
export type LiveLookupFailure = "timeout" | "error" | "rate-limited";

/** A live lookup that could not tell whether the ServiceAccount exists. */
export class LiveLookupError extends Error {
  readonly outcome: LiveLookupFailure;

  constructor(message: string, outcome: LiveLookupFailure, options?: ErrorOptions) {
    super(message, options);
    this.name = "LiveLookupError";
    this.outcome = outcome;
  }
}

export interface LiveLookupDeps {
  readonly api: ServiceAccountApi;
  readonly clock: Clock;
  readonly keepAnnotation: KeepAnnotation;
  readonly events: ServiceAccountEvents;
  readonly logger: ServiceAccountLogger;
  readonly timeoutMs: number;
  /** Each GET takes a token; none left refuses the lookup at once, as a timeout would end it. */
  readonly rateLimit: TokenBucket;
  /** Where a 404 is remembered; the cache asks it before calling get(). */
  readonly absent: AbsentServiceAccounts;
  /** What the cache holds now. */
  readonly current: (namespace: string, name: string) => ServiceAccountRecord | undefined;
  /** Puts a ServiceAccount found live into the cache; returns the cached record. */
  readonly remember: (
    namespace: string,
    name: string,
    annotations: Readonly<Record<string, string>>,
  ) => ServiceAccountRecord;
}

interface FlightState {
  /**
   * Set when the cache learnt of this ServiceAccount while the GET was out: a watch event is at least as new
   * as the GET, so the cache's answer wins; a relist may be older or newer, so the cache's answer wins when it
   * has one, and the GET's answer is not cached.
   */
  supersededBy: "watch" | "relist" | undefined;
}

interface Flight {
  readonly promise: Promise<ServiceAccountRecord | undefined>;
  readonly state: FlightState;
}

export class LiveLookups {
  readonly #deps: LiveLookupDeps;
  readonly #flights = new Map<string, Flight>();
  /** Lookups refused since the rate limit last let one through; one warning per such spell, not one per refusal. */
  #refused = 0;

  constructor(deps: LiveLookupDeps) {
    this.#deps = deps;
  }

  /** The ServiceAccount as the API server has it now; one GET per namespace/name at a time. */
  get(namespace: string, name: string): Promise<ServiceAccountRecord | undefined> {
    const key = `${namespace}/${name}`;
    const running = this.#flights.get(key);
    if (running !== undefined) return running.promise;
    if (!this.#deps.rateLimit.take()) return Promise.reject(this.#refuse());
    if (this.#refused > 0) {
      this.#deps.logger.info(
        { refused: this.#refused },
        "live ServiceAccount lookups are within their rate limit again",
      );
      this.#refused = 0;
    }
    const state: FlightState = { supersededBy: undefined };
    const promise = this.#lookup(namespace, name, state).finally(() => this.#flights.delete(key));
    this.#flights.set(key, { promise, state });
    return promise;
  }

  /** A watch event for namespace/name arrived. */
  supersede(namespace: string, name: string): void {
    if (this.#flights.size === 0) return;
    const flight = this.#flights.get(`${namespace}/${name}`);
    if (flight !== undefined) flight.state.supersededBy = "watch";
  }

  /** The cache was replaced by a new list. */
  supersedeAll(): void {
    for (const { state } of this.#flights.values()) state.supersededBy ??= "relist";
  }

  /** The review's warning already names the ServiceAccount; this says why, short enough to survive its 256-character cut. */
  #refuse(): LiveLookupError {
    const { events, logger, rateLimit } = this.#deps;
    events.lookupRateLimited();
    const { ratePerSecond, burst } = rateLimit;
    if (this.#refused++ === 0)
      logger.warn(
        { ratePerSecond, burst },
        "live ServiceAccount lookups are over their rate limit (--lookup-rate); misses are admitted without credentials until it refills",
      );
    return new LiveLookupError(
      `live lookup refused: more cache misses than --lookup-rate allows (${ratePerSecond} GETs per second, bursts of ${burst})`,
      "rate-limited",
    );
  }

  async #lookup(
    namespace: string,
    name: string,
    state: FlightState,
  ): Promise<ServiceAccountRecord | undefined> {
    const { api, clock, events, logger, timeoutMs, keepAnnotation, absent, current, remember } = this.#deps;
    const subject = `live lookup of ServiceAccount ${namespace}/${name}`;
    let raw: RawServiceAccount | undefined;
    try {
      raw = await withDeadline(
        clock,
        timeoutMs,
        undefined,
        (signal) => api.get(namespace, name, signal),
        () => new LiveLookupError(`${subject} timed out after ${timeoutMs}ms`, "timeout"),
      );
    } catch (error) {
      const timedOut = error instanceof LiveLookupError;
      const failure = timedOut
        ? error
        : new LiveLookupError(`${subject} failed: ${messageOf(error)}`, "error", { cause: error });
      events.liveLookup(timedOut ? "timeout" : "error");
      logger.warn({ namespace, name, err: failure }, "live lookup of a ServiceAccount failed");
      throw failure;
    }
    events.liveLookup(raw === undefined ? "not-found" : "found");
    if (state.supersededBy === "watch") return current(namespace, name);
    const annotations = raw && keptAnnotations(raw.metadata?.annotations, keepAnnotation);
    if (state.supersededBy === "relist")
      return current(namespace, name) ?? (annotations && serviceAccountRecord(namespace, name, annotations));
    if (annotations === undefined) {
      absent.record(namespace, name);
      return undefined;
    }
    return remember(namespace, name, annotations);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
