import { describe, expect, it } from 'vitest';
import { delta, metricsUrl, parsePrometheus } from '../src/gateway-metrics.ts';

describe('gateway metrics scraping', () => {
  it('sums a metric over its label sets and skips comments', () => {
    const text = [
      '# HELP cloudvars_closes_total Closed connections by close code.',
      '# TYPE cloudvars_closes_total counter',
      'cloudvars_closes_total{code="1000"} 3',
      'cloudvars_closes_total{code="4003",x="a b"} 2',
      'cloudvars_frames_out_total 41',
      'nodejs_heap_size_used_bytes 1.5e7',
      'garbage line',
    ].join('\n');
    const m = parsePrometheus(text);
    expect(m.get('cloudvars_closes_total')).toBe(5);
    expect(m.get('cloudvars_frames_out_total')).toBe(41);
    expect(m.get('nodejs_heap_size_used_bytes')).toBe(15_000_000);
    expect(m.has('garbage')).toBe(false);
  });

  it('derives the metrics URL from a gateway WebSocket URL', () => {
    expect(metricsUrl('ws://127.0.0.1:9080/')).toBe('http://127.0.0.1:19080/metrics');
    expect(metricsUrl('wss://example.test/room?x=1')).toBe('https://example.test:10443/metrics');
  });

  it('gives a delta only when both scrapes have the metric', () => {
    const a = new Map([['m', 2]]);
    const b = new Map([['m', 7]]);
    expect(delta(a, b, 'm')).toBe(5);
    expect(delta(a, undefined, 'm')).toBeNull();
    expect(delta(a, b, 'other')).toBeNull();
  });
});
