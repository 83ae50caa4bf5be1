// What the ServiceAccount sources report: metric hooks the server wires to prom-client, and a pino-shaped logger.

export type LiveLookupOutcome = "found" | "not-found" | "error" | "timeout";

/**
 * Why a watch was restarted: the server ended it ("closed", e.g. its timeout), it failed ("error"), its
 * resourceVersion expired so everything is listed again ("expired"), or it outlived its deadline ("deadline").
 */
export type WatchRestartReason = "closed" | "error" | "expired" | "deadline";

/** Counters for the server's metrics; each call is one occurrence. */
export interface ServiceAccountEvents {
  /** A get() found nothing in the cache (concurrent misses of one ServiceAccount each count). */
  cacheMiss(): void;
  /** One live GET finished (concurrent misses of one ServiceAccount share it). */
  liveLookup(outcome: LiveLookupOutcome): void;
  /** A get() was answered "absent" from a recent 404, without a GET (not counted as a miss). */
  negativeCacheHit(): void;
  /** A miss was refused without a GET: the live lookups' rate limit was spent. */
  lookupRateLimited(): void;
  watchRestart(reason: WatchRestartReason): void;
}

/** The slice of a pino logger the sources use. */
export interface ServiceAccountLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const noEvents: ServiceAccountEvents = {
  cacheMiss: () => {},
  liveLookup: () => {},
  negativeCacheHit: () => {},
  lookupRateLimited: () => {},
  watchRestart: () => {},
};
