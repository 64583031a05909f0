/**
 * Latency histogram with logarithmic buckets: ~1% relative error, fixed memory, mergeable
 * across worker processes (counts add), serialisable as plain JSON for IPC.
 *
 * Values are microseconds. Bucket i holds values v with floor(ln(v) * RESOLUTION) === i;
 * values below 1 us go to bucket 0. Quantiles report the bucket's upper bound, clamped to
 * the exact observed max, so a reported p99 never understates the truth by more than ~1%.
 */

/** Buckets per natural-log unit: e^(1/100) - 1 = 1.005% relative width. */
const RESOLUTION = 100;
/** Highest tracked value: e^21 us ~ 1.3e9 us ~ 22 minutes; larger values land in the last bucket. */
const BUCKETS = 21 * RESOLUTION;

export interface HistogramSnapshot {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  /** Sparse [bucketIndex, count] pairs: the JSON form for IPC between processes. */
  readonly buckets: ReadonlyArray<readonly [number, number]>;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sumOf = 0;
  private minOf = Number.POSITIVE_INFINITY;
  private maxOf = 0;

  record(valueUs: number): void {
    const v = valueUs > 0 ? valueUs : 0;
    const idx = v < 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(v) * RESOLUTION));
    this.counts[idx] = (this.counts[idx] ?? 0) + 1;
    this.total += 1;
    this.sumOf += v;
    if (v < this.minOf) this.minOf = v;
    if (v > this.maxOf) this.maxOf = v;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxOf;
  }

  get min(): number {
    return this.total === 0 ? 0 : this.minOf;
  }

  get mean(): number {
    return this.total === 0 ? 0 : this.sumOf / this.total;
  }

  /** The value at quantile q (0..1); 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) {
        const upper = Math.exp((i + 1) / RESOLUTION);
        return Math.max(this.min, Math.min(upper, this.maxOf));
      }
    }
    return this.maxOf;
  }

  merge(other: HistogramSnapshot): void {
    for (const [idx, n] of other.buckets) {
      if (idx < 0 || idx >= BUCKETS) continue;
      this.counts[idx] = (this.counts[idx] ?? 0) + n;
    }
    if (other.count === 0) return;
    this.total += other.count;
    this.sumOf += other.sum;
    if (other.min < this.minOf) this.minOf = other.min;
    if (other.max > this.maxOf) this.maxOf = other.max;
  }

  snapshot(): HistogramSnapshot {
    const buckets: Array<readonly [number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) {
      const n = this.counts[i] ?? 0;
      if (n > 0) buckets.push([i, n]);
    }
    return { count: this.total, sum: this.sumOf, min: this.min, max: this.maxOf, buckets };
  }

  static from(snapshot: HistogramSnapshot): Histogram {
    const h = new Histogram();
    h.merge(snapshot);
    return h;
  }
}
