// How long to wait before the next attempt after consecutive failures: exponential, capped, jittered.

export interface BackoffPolicy {
  /** Ceiling of the first delay. */
  readonly baseMs: number;
  /** Ceiling of any delay. */
  readonly maxMs: number;
}

/**
 * A delay in [ceiling/2, ceiling), where the ceiling doubles per failure from `baseMs` up to `maxMs`; the
 * jitter keeps replicas that lost the API server together from returning together.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
