// Where ServiceAccounts come from, as the server sees it: one interface, several sources.

import type { ServiceAccountRecord } from "../mutation/pod.js";

export interface ServiceAccountSource {
  /**
   * The ServiceAccount, or undefined when it does not exist.
   * Rejects (with an Error saying why) only when it cannot tell, e.g. a live lookup timed out.
   */
  get(namespace: string, name: string): Promise<ServiceAccountRecord | undefined>;
  /**
   * The ServiceAccount when the source holds it now, without waiting; undefined means "ask get()".
   * Lets a review answer from memory without a timer or a promise per lookup.
   */
  peek?(namespace: string, name: string): ServiceAccountRecord | undefined;
  /** True once the source can answer (the first list has returned). */
  isReady(): boolean;
  /** Starts loading; resolves when ready (first list done), rejects if it cannot ever become ready. */
  start(): Promise<void>;
  /** Stops watches and timers. */
  stop(): Promise<void>;
  /** Number of ServiceAccounts held. */
  size(): number;
}
