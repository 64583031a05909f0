import { describe, expect, it } from 'vitest';
import { SendSchedule } from '../src/send-schedule.ts';

function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('SendSchedule', () => {
  it('sends each item once per period, whatever the tick spacing', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const schedule = new SendSchedule(items, 200, 0, seeded(7));
    const counts = new Map<number, number>();
    for (let t = 0; t <= 1002; t += 3) schedule.runDue(t, (i) => counts.set(i, (counts.get(i) ?? 0) + 1));
    // Phases lie in [0, 200): by t = 1002 each item fell due at phase, +200, ..., +800 (and +1000 if phase <= 2).
    for (const i of items) expect([5, 6]).toContain(counts.get(i));
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(250);
  });

  it('catches up after a stall instead of lowering the rate', () => {
    const schedule = new SendSchedule([1, 2, 3, 4], 100, 0, seeded(3));
    let sent = schedule.runDue(10, () => undefined);
    // Nothing ran between t = 10 and t = 1000: everything due is sent in the next calls.
    sent += schedule.runDue(1000, () => undefined, 1000);
    expect(sent).toBeGreaterThanOrEqual(40);
    expect(sent).toBeLessThanOrEqual(44);
  });

  it('bounds one call and sends in due order', () => {
    const schedule = new SendSchedule(['a', 'b', 'c'], 100, 0, () => 0.5);
    const order: string[] = [];
    expect(schedule.runDue(10_000, (x) => order.push(x), 5)).toBe(5);
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  it('does nothing before the first phase or with no items', () => {
    expect(new SendSchedule([1], 100, 50, () => 0.5).runDue(99, () => undefined)).toBe(0);
    expect(new SendSchedule([], 100, 0).runDue(1e9, () => undefined)).toBe(0);
  });
});
