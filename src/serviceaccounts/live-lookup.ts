// On a cache miss, one GET of the ServiceAccount from the API server, shared by concurrent misses and bounded in time.

import type { ServiceAccountRecord } from "../mutation/pod.js";
import type { RawServiceAccount, ServiceAccountApi } from "./api.js";
import { type Clock, withDeadline } from "./clock.js";
import type { ServiceAccountEvents, ServiceAccountLogger } from "./events.js";
import { type KeepAnnotation, keptAnnotations, serviceAccountRecord } from "./records.js";

/** A live lookup that could not tell whether the ServiceAccount exists. */
export class LiveLookupError extends Error {
  readonly outcome: "timeout" | "error";

  constructor(message: string, outcome: "timeout" | "error", options?: ErrorOptions) {
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

  constructor(deps: LiveLookupDeps) {
    this.#deps = deps;
  }

  /** The ServiceAccount as the API server has it now; one GET per namespace/name at a time. */
  get(namespace: string, name: string): Promise<ServiceAccountRecord | undefined> {
    const key = `${namespace}/${name}`;
    const running = this.#flights.get(key);
    if (running !== undefined) return running.promise;
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

  async #lookup(
    namespace: string,
    name: string,
    state: FlightState,
  ): Promise<ServiceAccountRecord | undefined> {
    const { api, clock, events, logger, timeoutMs, keepAnnotation, current, remember } = this.#deps;
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
      const failure =
        error instanceof LiveLookupError
          ? error
          : new LiveLookupError(`${subject} failed: ${messageOf(error)}`, "error", { cause: error });
      events.liveLookup(failure.outcome);
      logger.warn({ namespace, name, err: failure }, "live lookup of a ServiceAccount failed");
      throw failure;
    }
    events.liveLookup(raw === undefined ? "not-found" : "found");
    if (state.supersededBy === "watch") return current(namespace, name);
    const annotations = raw && keptAnnotations(raw.metadata?.annotations, keepAnnotation);
    if (state.supersededBy === "relist")
      return current(namespace, name) ?? (annotations && serviceAccountRecord(namespace, name, annotations));
    return annotations && remember(namespace, name, annotations);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
