import { expect, it } from 'vitest';
import type { World } from './harness.ts';
import { freshRoom } from './harness.ts';

type MakeWorld = () => Promise<World>;

/** Window counters: one count per key across every pod, starting again when the window ends. */
export function countersContract(world: MakeWorld): void {
  it('counts hits of one key across pods within the window, refuses beyond max, and starts again when it ends', async () => {
    const { pods, advance } = await world();
    const [a, b] = [pods[0].counters, pods[1].counters];
    const key = `handshakes:${freshRoom()}`;
    expect(await a.hit(key, 60_000, 2)).toEqual({ allowed: true, count: 1, resetInMs: 60_000 });
    advance(1_000);
    expect(await b.hit(key, 60_000, 2)).toEqual({ allowed: true, count: 2, resetInMs: 59_000 });
    expect(await a.hit(key, 60_000, 2)).toEqual({ allowed: false, count: 3, resetInMs: 59_000 });
    expect((await b.hit(`other:${key}`, 60_000, 2)).count).toBe(1);
    await b.refund(key);
    await b.refund(key);
    expect(await a.hit(key, 60_000, 2)).toEqual({ allowed: true, count: 2, resetInMs: 59_000 });
    advance(59_000);
    await a.refund(key); // the window ended: nothing to take back
    await a.refund(`never:${key}`);
    expect(await b.hit(key, 60_000, 2)).toEqual({ allowed: true, count: 1, resetInMs: 60_000 });
  });

  it('keeps keys apart that differ only in braces, so a key cannot break out of its Redis hash tag', async () => {
    const { pods } = await world();
    const base = freshRoom();
    const counters = pods[0].counters;
    expect((await counters.hit(`{${base}}`, 1_000, 5)).count).toBe(1);
    expect((await counters.hit(`{${base}}`, 1_000, 5)).count).toBe(2);
    expect((await counters.hit(`_${base}_`, 1_000, 5)).count).toBe(1);
    expect((await counters.hit(`%7b${base}%7d`, 1_000, 5)).count).toBe(1);
  });
}
