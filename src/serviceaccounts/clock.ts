// Time as the ServiceAccount sources see it: injectable, so tests drive backoff and timeouts without waiting.

import { setTimeout as delay } from "node:timers/promises";

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal === undefined ? {} : { signal }).catch(() => undefined),
};

/**
 * Runs `request` with a signal that aborts after `timeoutMs` or when `cancel` aborts. Rejects with
 * `timedOut()` at the deadline, or with an AbortError on cancel, without waiting for the request to wind down.
 */
export function withDeadline<T>(
  clock: Clock,
  timeoutMs: number,
  cancel: AbortSignal | undefined,
  request: (signal: AbortSignal) => Promise<T>,
  timedOut: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const requestAbort = new AbortController();
    const settled = new AbortController();
    const settle = (how: () => void) => {
      if (settled.signal.aborted) return;
      settled.abort();
      cancel?.removeEventListener("abort", onCancel);
      how();
    };
    const abortWith = (error: Error) => {
      requestAbort.abort();
      settle(() => reject(error));
    };
    const onCancel = () => abortWith(new DOMException("cancelled", "AbortError"));
    if (cancel?.aborted) {
      onCancel();
      return;
    }
    cancel?.addEventListener("abort", onCancel, { once: true });
    void clock.sleep(timeoutMs, settled.signal).then(() => {
      if (!settled.signal.aborted) abortWith(timedOut());
    });
    request(requestAbort.signal).then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}
