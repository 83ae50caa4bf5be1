// The ConfigMap's current entries (last good content kept over a malformed update) and a ServiceAccountSource
// that shows the engine each ServiceAccount merged with its entry.

import type { ServiceAccountRecord } from "../mutation/pod.js";
import {
  type ConfigMapEntries,
  type EntryAnnotationKeys,
  mergeConfigMapEntry,
  noEntries,
  parseConfigMapData,
} from "./config-map.js";
import type { ServiceAccountLogger } from "./events.js";
import type { ServiceAccountSource } from "./source.js";

/** Counts what happened to each ConfigMap version seen, for a metric. */
export type ConfigMapOutcome = "applied" | "refused" | "deleted";

export interface ConfigMapEntriesDeps {
  readonly logger: ServiceAccountLogger;
  readonly onOutcome?: (outcome: ConfigMapOutcome) => void;
}

/**
 * Holds the entries of the last ConfigMap that parsed. The reference half-applies a malformed update (or
 * crashes on a key without `/`); here a malformed version is refused whole, logged, counted, and the last good
 * entries stay. Deleting the ConfigMap removes every entry (the reference keeps them until it restarts).
 */
export class ConfigMapEntriesHolder {
  readonly #logger: ServiceAccountLogger;
  readonly #onOutcome: (outcome: ConfigMapOutcome) => void;
  #entries: ConfigMapEntries = noEntries;

  constructor(deps: ConfigMapEntriesDeps) {
    this.#logger = deps.logger;
    this.#onOutcome = deps.onOutcome ?? (() => {});
  }

  get entries(): ConfigMapEntries {
    return this.#entries;
  }

  /** A version of the ConfigMap (from the list or an ADDED/MODIFIED event). */
  apply(where: string, data: Readonly<Record<string, unknown>> | undefined): void {
    const parsed = parseConfigMapData(data);
    if (!parsed.ok) {
      this.#logger.warn(
        { configMap: where, error: parsed.error },
        "refused a malformed ConfigMap; keeping the entries of the last good version",
      );
      this.#onOutcome("refused");
      return;
    }
    if (parsed.unknownFields.length > 0)
      this.#logger.warn(
        { configMap: where, unknownFields: parsed.unknownFields },
        "ConfigMap entries have fields other than RoleARN, Audience, UseRegionalSTS, TokenExpiration; they are ignored",
      );
    this.#entries = parsed.entries;
    this.#logger.info({ configMap: where, entries: parsed.count }, "applied ConfigMap");
    this.#onOutcome("applied");
  }

  /** The first list found no ConfigMap: no entries, nothing refused. */
  absent(where: string): void {
    this.#entries = noEntries;
    this.#logger.info(
      { configMap: where },
      "no ConfigMap; ServiceAccounts need their own annotations until it is created",
    );
  }

  /** The ConfigMap was deleted. */
  delete(where: string): void {
    this.#entries = noEntries;
    this.#logger.info({ configMap: where }, "ConfigMap deleted; its entries no longer apply");
    this.#onOutcome("deleted");
  }
}

/** What keeps the holder current (a ConfigMapWatch); started and stopped with the source. */
export interface ConfigMapFeed {
  isReady(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `source` as the engine should see it: each ServiceAccount merged with its ConfigMap entry. Ready when both the
 * source and the feed have listed, so no pod is reviewed before the ConfigMap's entries are known.
 */
export function withConfigMapEntries(
  source: ServiceAccountSource,
  holder: ConfigMapEntriesHolder,
  feed: ConfigMapFeed,
  keys: EntryAnnotationKeys,
): ServiceAccountSource {
  const merged = (namespace: string, name: string, record: ServiceAccountRecord | undefined) =>
    mergeConfigMapEntry(record, namespace, name, holder.entries, keys);
  const peek = source.peek?.bind(source);
  return {
    get: async (namespace, name) => merged(namespace, name, await source.get(namespace, name)),
    ...(peek === undefined
      ? {}
      : {
          peek(namespace: string, name: string) {
            const record = peek(namespace, name);
            // undefined means "ask get()", so a miss stays a miss for get() to merge.
            return record === undefined ? undefined : merged(namespace, name, record);
          },
        }),
    isReady: () => source.isReady() && feed.isReady(),
    start: async () => {
      await Promise.all([source.start(), feed.start()]);
    },
    stop: async () => {
      await Promise.all([source.stop(), feed.stop()]);
    },
    size: () => source.size(),
  };
}
