// An in-memory ServiceAccountSource for server tests: fixed ServiceAccounts, switchable readiness, delay and failure.

import type { ServiceAccountRecord } from "../../../src/mutation/pod.js";
import type { ServiceAccountSource } from "../../../src/serviceaccounts/source.js";

export class FakeServiceAccountSource implements ServiceAccountSource {
  readonly #serviceAccounts = new Map<string, ServiceAccountRecord>();
  ready: boolean;
  /** Each get() answers after this many milliseconds (0: at once). */
  delayMs = 0;
  /** When set, get() rejects with this error. */
  failure: Error | undefined;
  /** When true, get() never settles (a source without a timeout of its own). */
  hang = false;
  /** The "namespace/name" of every get(), in order. */
  readonly lookups: string[] = [];

  constructor(serviceAccounts: readonly ServiceAccountRecord[] = [], options: { ready?: boolean } = {}) {
    for (const serviceAccount of serviceAccounts) {
      this.#serviceAccounts.set(`${serviceAccount.namespace}/${serviceAccount.name}`, serviceAccount);
    }
    this.ready = options.ready ?? true;
  }

  async get(namespace: string, name: string): Promise<ServiceAccountRecord | undefined> {
    const key = `${namespace}/${name}`;
    this.lookups.push(key);
    if (this.hang) return new Promise(() => {});
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.failure !== undefined) throw this.failure;
    return this.#serviceAccounts.get(key);
  }

  isReady(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    this.ready = true;
  }

  async stop(): Promise<void> {}

  size(): number {
    return this.#serviceAccounts.size;
  }
}
