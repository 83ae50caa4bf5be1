// The one list-then-watch loop (ServiceAccounts, the reference's ConfigMap): list, watch from the list's
// resourceVersion, resume with jittered backoff, list again when the resourceVersion expires.

import type { WatchEvent, WatchHandle, WatchRequest } from "./api.js";
import { statusOf } from "./api.js";
import { backoffDelay } from "./backoff.js";
import type { Clock } from "./clock.js";
import type { ServiceAccountLogger, WatchRestartReason } from "./events.js";

/** The objects a loop watches only need a resourceVersion the loop can resume from. */
export interface Versioned {
  readonly metadata?: { readonly resourceVersion?: string };
}

/** What one loop lists and watches, and where the results go. */
export interface ListWatchTarget<T extends Versioned> {
  /** For logs and errors: what a list fetches ("ServiceAccounts") and what is watched ("ServiceAccount"). */
  readonly listed: string;
  readonly watched: string;
  /** Lists everything and replaces what is held; resolves to the resourceVersion to watch from. */
  list(stopping: AbortSignal): Promise<string>;
  watch(
    request: WatchRequest,
    onEvent: (event: WatchEvent<T>) => void,
    onDone: (error?: Error) => void,
  ): Promise<WatchHandle>;
  /** An ADDED, MODIFIED or DELETED object. */
  change(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void;
  /** The error start() rejects with instead of retrying a failed first list (e.g. a 403), or undefined to retry. */
  refusesStart(error: unknown): Error | undefined;
}

export interface ListWatchTimings {
  /** The server ends each watch after this long times 1..2 (spread so replicas do not reconnect together). */
  readonly watchTimeoutSeconds: number;
  /** A watch still open this long after its server-side timeout is presumed dead (e.g. a half-open connection). */
  readonly watchGraceMs: number;
  /** First retry delay after a failure; doubles per consecutive failure up to retryMaxMs. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** A watch that stayed open this long resets the failure count. */
  readonly healthyAfterMs: number;
}

export interface ListWatchDeps {
  readonly logger: ServiceAccountLogger;
  readonly clock: Clock;
  /** Uniform in [0, 1); jitters retries and watch lifetimes. */
  readonly random: () => number;
  readonly onWatchRestart: (reason: WatchRestartReason) => void;
}

interface WatchEnd {
  readonly reason: WatchRestartReason;
  readonly error: Error | undefined;
  readonly ranMs: number;
}

/**
 * Lists, then watches from the list's resourceVersion: bookmarks keep the resourceVersion fresh, an expired one
 * (410) means listing again, and an ended or failed watch is resumed with jittered exponential backoff. While the
 * watch is down the target keeps what it holds.
 */
export class ListWatch<T extends Versioned> {
  readonly #target: ListWatchTarget<T>;
  readonly #deps: ListWatchDeps;
  readonly #timings: ListWatchTimings;
  readonly #stopping = new AbortController();
  #resourceVersion = "";
  #failures = 0;
  #ready = false;
  #started: Promise<void> | undefined;
  #settleStart: { resolve(): void; reject(error: Error): void } | undefined;
  #running: Promise<void> | undefined;

  constructor(target: ListWatchTarget<T>, deps: ListWatchDeps, timings: ListWatchTimings) {
    this.#target = target;
    this.#deps = deps;
    this.#timings = timings;
  }

  /** True once the first list has completed. */
  isReady(): boolean {
    return this.#ready;
  }

  /** Starts the loop; resolves after the first list, rejects if the target refuses a failed first list. */
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
    const { logger, clock, onWatchRestart } = this.#deps;
    const { listed, watched } = this.#target;
    let mustList = true;
    while (!stopping.aborted) {
      if (mustList) {
        try {
          this.#resourceVersion = await this.#target.list(stopping);
          mustList = false;
          if (!this.#ready) {
            this.#ready = true;
            this.#settleStart?.resolve();
          }
        } catch (error) {
          if (stopping.aborted) break;
          const refusal = this.#ready ? undefined : this.#target.refusesStart(error);
          if (refusal !== undefined) {
            this.#failStart(refusal);
            return;
          }
          const retryInMs = this.#nextRetryDelay();
          logger.warn({ err: error, retryInMs }, `listing ${listed} failed`);
          await clock.sleep(retryInMs, stopping);
          continue;
        }
      }
      const end = await this.#watch();
      if (stopping.aborted) break;
      if (end.reason === "expired") mustList = true;
      if (end.ranMs >= this.#timings.healthyAfterMs) this.#failures = 0;
      onWatchRestart(end.reason);
      const retryInMs = this.#nextRetryDelay();
      const fields = { reason: end.reason, err: end.error, ranMs: end.ranMs, retryInMs };
      if (end.reason === "closed" || end.reason === "expired")
        logger.debug(fields, `the ${watched} watch ended`);
      else logger.warn(fields, `the ${watched} watch failed`);
      await clock.sleep(retryInMs, stopping);
    }
    this.#failStart(new Error(`the ${watched} cache was stopped before its first list completed`));
  }

  #nextRetryDelay(): number {
    this.#failures++;
    const { retryBaseMs, retryMaxMs } = this.#timings;
    return backoffDelay(this.#failures, { baseMs: retryBaseMs, maxMs: retryMaxMs }, this.#deps.random);
  }

  /** One watch, from open to end; resolves (never rejects) with why it ended. */
  #watch(): Promise<WatchEnd> {
    const { clock, random } = this.#deps;
    const startedAt = clock.now();
    const stopping = this.#stopping.signal;
    const { watchTimeoutSeconds, watchGraceMs } = this.#timings;
    const timeoutSeconds = Math.round(watchTimeoutSeconds * (1 + random()));
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
        resolve({ reason, error, ranMs: clock.now() - startedAt });
      };
      const onStop = () => end("closed");
      stopping.addEventListener("abort", onStop, { once: true });
      void clock.sleep(timeoutSeconds * 1000 + watchGraceMs, deadline.signal).then(() => {
        if (!deadline.signal.aborted)
          end(
            "deadline",
            new Error(`the watch was still open ${watchGraceMs}ms after its ${timeoutSeconds}s timeout`),
          );
      });
      this.#target
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

  #apply(event: WatchEvent<T>, end: (reason: WatchRestartReason, error?: Error) => void): void {
    switch (event.type) {
      case "ADDED":
      case "MODIFIED":
      case "DELETED": {
        this.#target.change(event.type, event.object);
        const resourceVersion = event.object.metadata?.resourceVersion;
        if (resourceVersion) this.#resourceVersion = resourceVersion;
        return;
      }
      case "BOOKMARK":
        if (event.resourceVersion) this.#resourceVersion = event.resourceVersion;
        return;
      case "ERROR":
        end(
          event.code === 410 ? "expired" : "error",
          new Error(
            `the ${this.#target.watched} watch reported ${event.code ?? "an error"}: ${event.message}`,
          ),
        );
        return;
    }
  }

  #failStart(error: Error): void {
    if (this.#ready) return;
    this.#settleStart?.reject(error);
  }
}
