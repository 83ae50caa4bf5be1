// An EventApi for tests: keeps every request, answers from a switchable behaviour (ok, fail, hang, gone).

import type { EventApi, EventSeries, NewEvent } from "../../../src/events/kube-api.js";
import type { EventDropReason, EventReports, EventRequest } from "../../../src/events/recorder.js";

export type ApiRequest =
  | { readonly verb: "create"; readonly event: NewEvent }
  | {
      readonly verb: "patch";
      readonly namespace: string;
      readonly name: string;
      readonly series: EventSeries;
    };

export class RecordingEventApi implements EventApi {
  readonly requests: ApiRequest[] = [];
  /** ok: every request succeeds; fail: every request rejects; hang: none settles; gone: patches answer 404. */
  behaviour: "ok" | "fail" | "hang" | "gone" = "ok";

  create(event: NewEvent, signal: AbortSignal): Promise<void> {
    this.requests.push({ verb: "create", event });
    return this.#answer(undefined, signal);
  }

  patchSeries(namespace: string, name: string, series: EventSeries, signal: AbortSignal): Promise<boolean> {
    this.requests.push({ verb: "patch", namespace, name, series });
    return this.#answer(this.behaviour !== "gone", signal);
  }

  #answer<T>(value: T, signal: AbortSignal): Promise<T> {
    if (this.behaviour === "fail") return Promise.reject(new Error("HTTP 403 (events is forbidden)"));
    if (this.behaviour === "hang")
      return new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }),
      );
    return Promise.resolve(value);
  }
}

/** EventReports that count, for assertions. */
export class CountingReports implements EventReports {
  readonly emittedCounts: Record<EventRequest, number> = { create: 0, patch: 0 };
  readonly droppedCounts: Record<EventDropReason, number> = { "queue-full": 0, "api-error": 0 };

  emitted(request: EventRequest): void {
    this.emittedCounts[request]++;
  }

  dropped(reason: EventDropReason, occurrences: number): void {
    this.droppedCounts[reason] += occurrences;
  }
}
