/**
 * A connection's rate bucket when a project policy changes its rate (TokenBucket.retune):
 * what was spent stays spent, so a client does not gain a burst by a stricter rate, nor is
 * it held to a strict rate's last token once given back a generous one.
 */
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../src/ws/token-bucket.ts';

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let at = 0;
  return { now: () => at, advance: (ms) => (at += ms) };
}

function takes(bucket: TokenBucket, count: number): number {
  let taken = 0;
  while (taken < count && bucket.take()) taken++;
  return taken;
}

describe('TokenBucket.retune', () => {
  it('cuts the tokens to a smaller burst and refills at the new rate', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(100, 100, clock.now);
    bucket.retune(1, 2);
    expect(takes(bucket, 10)).toBe(2);
    clock.advance(999);
    expect(bucket.take()).toBe(false);
    clock.advance(1);
    expect(takes(bucket, 10)).toBe(1);
  });

  it("adds a bigger burst's extra room to what is left, keeping what was spent spent", () => {
    const clock = manualClock();
    const bucket = new TokenBucket(1, 2, clock.now);
    expect(takes(bucket, 2)).toBe(2);
    bucket.retune(100, 100);
    expect(takes(bucket, 200)).toBe(98);
    clock.advance(10);
    expect(takes(bucket, 10)).toBe(1);
  });

  it("keeps the old rate's refill up to the moment of the change", () => {
    const clock = manualClock();
    const bucket = new TokenBucket(10, 10, clock.now);
    expect(takes(bucket, 10)).toBe(10);
    clock.advance(500);
    bucket.retune(1, 10);
    expect(takes(bucket, 10)).toBe(5);
  });
});
