// The reference's ConfigMap watched (not polled) in one namespace, through the shared list-then-watch loop, into a
// ConfigMapEntriesHolder; RBAC: list and watch on that one ConfigMap (resourceNames, matched by a fieldSelector).

import type { KubeConnection } from "../kube/connection.js";
import { KubeClient } from "../kube/request.js";
import {
  ServiceAccountApiError,
  statusOf,
  type WatchEvent,
  type WatchHandle,
  type WatchRequest,
} from "./api.js";
import { type Clock, systemClock, withDeadline } from "./clock.js";
import { configMapName } from "./config-map.js";
import type { ConfigMapEntriesHolder } from "./config-map-source.js";
import type { ServiceAccountLogger, WatchRestartReason } from "./events.js";
import { failedTo, isObject, parsedJson, statusError, watchStream } from "./kube-api.js";
import { ListWatch, type ListWatchTimings } from "./list-watch.js";

/** The fields of a ConfigMap we read. */
export interface RawConfigMap {
  readonly metadata?: {
    readonly namespace?: string;
    readonly name?: string;
    readonly resourceVersion?: string;
  };
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface ConfigMapApi {
  /** The ConfigMap `pod-identity-webhook` of the namespace (none or one) and the list's resourceVersion. */
  list(
    signal: AbortSignal,
  ): Promise<{ readonly items: readonly RawConfigMap[]; readonly resourceVersion: string }>;
  watch(
    request: WatchRequest,
    onEvent: (event: WatchEvent<RawConfigMap>) => void,
    onDone: (error?: Error) => void,
  ): Promise<WatchHandle>;
}

/**
 * Every API request the ConfigMap watch makes, as RBAC rules: a Role in its namespace whose resourceNames holds
 * only the ConfigMap; the API server applies resourceNames to list and watch because both send the fieldSelector
 * metadata.name=pod-identity-webhook.
 */
export function configMapPermissions(namespace: string) {
  return [
    {
      apiGroup: "",
      resource: "configmaps",
      verbs: ["list", "watch"],
      scope: namespace,
      resourceNames: [configMapName],
    },
  ] as const;
}

/** Lists and watches only `pod-identity-webhook` in `namespace`. */
export function createKubeConfigMapApi(connection: KubeConnection, namespace: string): ConfigMapApi {
  const client = new KubeClient(connection);
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  const fieldSelector = `metadata.name=${configMapName}`;
  const where = `ConfigMap ${namespace}/${configMapName}`;
  return {
    async list(signal) {
      const what = `list ${where}`;
      const query = new URLSearchParams({ fieldSelector });
      const answer = await client
        .send({ method: "GET", path: `${path}?${query}`, signal })
        .catch(failedTo(what));
      if (answer.status !== 200) throw statusError(what, answer);
      const list = parsedJson(answer.body, what);
      if (!isObject(list) || !Array.isArray(list.items))
        throw new ServiceAccountApiError(`${what}: the answer is not a list`, 200);
      const metadata = isObject(list.metadata) ? list.metadata : {};
      const resourceVersion = typeof metadata.resourceVersion === "string" ? metadata.resourceVersion : "";
      return { items: list.items as RawConfigMap[], resourceVersion };
    },
    watch: (request, onEvent, onDone) =>
      watchStream(
        client,
        { path, what: `watch ${where}`, query: { fieldSelector } },
        request,
        onEvent,
        onDone,
      ),
  };
}

export interface ConfigMapWatchDeps {
  readonly api: ConfigMapApi;
  readonly holder: ConfigMapEntriesHolder;
  readonly logger: ServiceAccountLogger;
  readonly onWatchRestart?: (reason: WatchRestartReason) => void;
  readonly clock?: Clock;
  readonly random?: () => number;
}

export interface ConfigMapWatchTimings extends ListWatchTimings {
  readonly listTimeoutMs: number;
}

export const defaultConfigMapWatchTimings: ConfigMapWatchTimings = {
  listTimeoutMs: 30_000,
  watchTimeoutSeconds: 300,
  watchGraceMs: 30_000,
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
  healthyAfterMs: 60_000,
};

/** Keeps `holder` at the ConfigMap's current content; an absent ConfigMap means no entries. */
export class ConfigMapWatch {
  readonly #loop: ListWatch<RawConfigMap>;

  constructor(namespace: string, deps: ConfigMapWatchDeps, timings: Partial<ConfigMapWatchTimings> = {}) {
    const all = { ...defaultConfigMapWatchTimings, ...timings };
    const clock = deps.clock ?? systemClock;
    const where = `${namespace}/${configMapName}`;
    const { api, holder } = deps;
    this.#loop = new ListWatch<RawConfigMap>(
      {
        listed: `ConfigMap ${where}`,
        watched: `ConfigMap ${where}`,
        async list(stopping) {
          const { items, resourceVersion } = await withDeadline(
            clock,
            all.listTimeoutMs,
            stopping,
            (signal) => api.list(signal),
            () => new Error(`listing ConfigMap ${where} timed out after ${all.listTimeoutMs}ms`),
          );
          const found = items.find((item) => item.metadata?.name === configMapName);
          if (found === undefined) holder.absent(where);
          else holder.apply(where, found.data);
          return resourceVersion;
        },
        watch: (request, onEvent, onDone) => api.watch(request, onEvent, onDone),
        change(type, object) {
          if (object.metadata?.name !== configMapName) return;
          if (type === "DELETED") holder.delete(where);
          else holder.apply(where, object.data);
        },
        refusesStart(error) {
          const status = statusOf(error);
          if (status !== 401 && status !== 403) return undefined;
          return new Error(
            `cannot list ConfigMap ${where}: ${(error as Error).message}; --watch-config-map needs list and watch on configmaps named ${configMapName} in namespace ${namespace} (a Role with resourceNames)`,
            { cause: error },
          );
        },
      },
      {
        logger: deps.logger,
        clock,
        random: deps.random ?? Math.random,
        onWatchRestart: deps.onWatchRestart ?? (() => {}),
      },
      all,
    );
  }

  isReady(): boolean {
    return this.#loop.isReady();
  }

  start(): Promise<void> {
    return this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }
}
