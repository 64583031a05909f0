import { describe, expect, it } from 'vitest';
import { CROSSING_WINDOW_MS, OwnWrites } from '../src/ws/own-writes.ts';

const NEVER = Number.NEGATIVE_INFINITY;

describe('OwnWrites (the convergence bookkeeping)', () => {
  it('owes no echo for a write of a variable nothing was sent of', () => {
    const writes = new OwnWrites();
    writes.started('☁ a', 1_000, NEVER);
    expect(writes.has('☁ a')).toBe(true);
    expect(writes.returned('☁ a')).toEqual({ receivedAt: 1_000, echo: false });
    expect(writes.has('☁ a')).toBe(false);
  });

  it('owes an echo when a value of the variable went out shortly before the write arrived', () => {
    const writes = new OwnWrites();
    writes.started('☁ a', 1_000, 1_000 - CROSSING_WINDOW_MS + 1);
    expect(writes.returned('☁ a')?.echo).toBe(true);
  });

  it('owes none when that value went out longer ago than the crossing window', () => {
    const writes = new OwnWrites();
    writes.started('☁ a', 1_000 + CROSSING_WINDOW_MS, 1_000);
    expect(writes.returned('☁ a')?.echo).toBe(false);
  });

  it('echoes only when the last write in flight comes back, not the earlier ones', () => {
    const writes = new OwnWrites();
    writes.started('☁ a', 1_000, 999);
    expect(writes.started('☁ a', 1_001, 999)).toBe(2);
    expect(writes.returned('☁ a')).toEqual({ receivedAt: 1_000, echo: false });
    expect(writes.has('☁ a')).toBe(true);
    expect(writes.returned('☁ a')).toEqual({ receivedAt: 1_001, echo: true });
  });

  it('keeps variables apart, and forgets an abandoned write and its echo', () => {
    const writes = new OwnWrites();
    writes.started('☁ a', 1_000, 999);
    writes.started('☁ b', 1_000, NEVER);
    expect(writes.abandoned('☁ a')).toBe(true);
    expect(writes.has('☁ a')).toBe(false);
    expect(writes.returned('☁ a')).toBeNull();
    expect(writes.returned('☁ b')?.echo).toBe(false);
  });

  it('holds nothing after a resync cleared it', () => {
    const writes = new OwnWrites();
    writes.started('☁ a', 1_000, 999);
    writes.clear();
    expect(writes.has('☁ a')).toBe(false);
    expect(writes.returned('☁ a')).toBeNull();
  });
});
