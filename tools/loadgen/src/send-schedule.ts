/**
 * Open-loop send schedule: every client sends at the same fixed period, each with its own
 * random phase. The schedule is kept against absolute time, so a generator that stalls
 * (GC, a busy core) catches up afterwards and the offered load stays the configured one;
 * per-client timers would instead silently lower the rate whenever the generator lags.
 *
 * Because all periods are equal, the order in which clients fall due never changes: one
 * cursor walking a list sorted by phase replaces one timer per client.
 */

export interface Due<T> {
  readonly item: T;
  due: number;
}

export class SendSchedule<T> {
  private readonly entries: Due<T>[];
  private cursor = 0;

  constructor(
    items: readonly T[],
    private readonly periodMs: number,
    startMs: number,
    random: () => number = Math.random,
  ) {
    this.entries = items.map((item) => ({ item, due: startMs + random() * periodMs })).sort((a, b) => a.due - b.due);
  }

  /**
   * Calls `send` for every send due by `nowMs`, in due order. At most `maxPerCall` sends, so
   * a long stall is caught up over a few ticks instead of one unbounded burst.
   */
  runDue(nowMs: number, send: (item: T) => void, maxPerCall = this.entries.length * 2): number {
    let sent = 0;
    while (sent < maxPerCall && this.entries.length > 0) {
      const entry = this.entries[this.cursor];
      if (!entry || entry.due > nowMs) break;
      send(entry.item);
      entry.due += this.periodMs;
      this.cursor = (this.cursor + 1) % this.entries.length;
      sent += 1;
    }
    return sent;
  }
}
