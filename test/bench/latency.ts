// Latency samples in milliseconds, kept exactly (a growable Float64Array) and summarised by nearest rank.

export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export class LatencyRecorder {
  private samples: Float64Array;
  private length = 0;

  constructor(expected = 65_536) {
    this.samples = new Float64Array(Math.max(1024, expected));
  }

  record(milliseconds: number): void {
    if (this.length === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.length++] = milliseconds;
  }

  get count(): number {
    return this.length;
  }

  /** The samples recorded so far, in order (a view: valid until the next record()). */
  values(): Float64Array {
    return this.samples.subarray(0, this.length);
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.length).sort();
    const rank = (q: number): number =>
      round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
    let sum = 0;
    for (const value of sorted) sum += value;
    return {
      count: sorted.length,
      mean: round(sorted.length === 0 ? 0 : sum / sorted.length),
      p50: rank(0.5),
      p90: rank(0.9),
      p99: rank(0.99),
      p999: rank(0.999),
      max: round(sorted[sorted.length - 1] ?? 0),
    };
  }
}

/** Three decimals: microsecond resolution is all a millisecond timer on loopback can claim. */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
