// ServiceAccounts a live GET found absent, remembered for a few seconds so repeated misses of one name cost one GET.

import type { Clock } from "./clock.js";

export interface AbsentServiceAccountsOptions {
  /** How long a 404 is believed (`--negative-cache-ttl`); 0 remembers nothing. */
  readonly ttlMs: number;
  /** Most names held; the oldest goes first, so random names cannot grow it without limit. */
  readonly maxEntries: number;
}

/**
 * Names by namespace/name, each with the time its 404 stops being believed. Every entry lives the same TTL and
 * a re-recorded name moves to the end, so the Map's insertion order is also expiry order: the front is pruned
 * and evicted first, with no timer.
 */
export class AbsentServiceAccounts {
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #expiresAt = new Map<string, number>();

  constructor(clock: Clock, options: AbsentServiceAccountsOptions) {
    this.#clock = clock;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
  }

  get size(): number {
    return this.#expiresAt.size;
  }

  /** True while a 404 of namespace/name recorded less than the TTL ago stands. */
  has(namespace: string, name: string): boolean {
    if (this.#expiresAt.size === 0) return false;
    const key = keyOf(namespace, name);
    const expiresAt = this.#expiresAt.get(key);
    if (expiresAt === undefined) return false;
    if (expiresAt > this.#clock.now()) return true;
    this.#expiresAt.delete(key);
    return false;
  }

  /** A live GET answered 404 for namespace/name. */
  record(namespace: string, name: string): void {
    if (this.#ttlMs <= 0 || this.#maxEntries <= 0) return;
    const now = this.#clock.now();
    const key = keyOf(namespace, name);
    this.#expiresAt.delete(key);
    for (const [oldest, expiresAt] of this.#expiresAt) {
      if (expiresAt > now && this.#expiresAt.size < this.#maxEntries) break;
      this.#expiresAt.delete(oldest);
    }
    this.#expiresAt.set(key, now + this.#ttlMs);
  }

  /** namespace/name exists now (a watch event said so). */
  forget(namespace: string, name: string): void {
    if (this.#expiresAt.size > 0) this.#expiresAt.delete(keyOf(namespace, name));
  }
}

// Neither a namespace nor a ServiceAccount name can contain "/", so the key is unambiguous.
function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
