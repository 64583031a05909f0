import { describe, expect, it } from 'vitest';
import { Histogram } from '../src/histogram.ts';

describe('Histogram', () => {
  it('reports quantiles within 1% of the exact order statistic', () => {
    const h = new Histogram();
    for (let v = 1; v <= 10_000; v++) h.record(v);
    expect(h.count).toBe(10_000);
    expect(h.quantile(0.5)).toBeGreaterThanOrEqual(5000);
    expect(h.quantile(0.5)).toBeLessThanOrEqual(5000 * 1.0101);
    expect(h.quantile(0.99)).toBeGreaterThanOrEqual(9900);
    expect(h.quantile(0.99)).toBeLessThanOrEqual(9900 * 1.0101);
    expect(h.quantile(1)).toBe(10_000);
    expect(h.max).toBe(10_000);
    expect(h.min).toBe(1);
    expect(h.mean).toBeCloseTo(5000.5, 6);
  });

  it('never reports a quantile above the observed max or below the observed min', () => {
    const h = new Histogram();
    h.record(1234.5);
    expect(h.quantile(0.5)).toBe(1234.5);
    expect(h.quantile(0.99)).toBe(1234.5);
  });

  it('returns zeros when empty', () => {
    const h = new Histogram();
    expect([h.count, h.quantile(0.99), h.max, h.min, h.mean]).toEqual([0, 0, 0, 0, 0]);
  });

  it('merges snapshots as if every value had been recorded in one histogram', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 1000; i++) {
      const v = (i * 7919) % 50_000;
      (i % 2 === 0 ? a : b).record(v);
      all.record(v);
    }
    const merged = Histogram.from(JSON.parse(JSON.stringify(a.snapshot())));
    merged.merge(b.snapshot());
    expect(merged.snapshot()).toEqual(all.snapshot());
    expect(merged.quantile(0.99)).toBe(all.quantile(0.99));
  });

  it('puts sub-microsecond and negative values in the lowest bucket', () => {
    const h = new Histogram();
    h.record(-5);
    h.record(0.3);
    expect(h.count).toBe(2);
    expect(h.min).toBe(0);
    expect(h.quantile(1)).toBe(0.3);
  });
});
