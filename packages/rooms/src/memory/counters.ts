import { engineClosed } from '../errors.ts';
import type { HitResult, WindowCounters } from '../ports.ts';

interface Window {
  count: number;
  readonly endsAt: number;
}

/**
 * Keys whose window ended are swept once this many keys are held, so idle keys cost nothing
 * for long; then again only once the count doubled, so a map of live windows (many
 * addresses at once) is not scanned at every new key.
 */
const SWEEP_AT = 10_000;

/** WindowCounters in one process (the whole "cluster" when there is no Redis). */
export class MemoryCounters implements WindowCounters {
  private readonly windows = new Map<string, Window>();
  private nextSweepAt = SWEEP_AT;
  private closed = false;

  constructor(private readonly now: () => number) {}

  async hit(key: string, windowMs: number, max: number): Promise<HitResult> {
    if (this.closed) throw engineClosed();
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      if (this.windows.size >= this.nextSweepAt) this.sweep(now);
      window = { count: 0, endsAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { allowed: window.count <= max, count: window.count, resetInMs: window.endsAt - now };
  }

  async refund(key: string): Promise<void> {
    if (this.closed) throw engineClosed();
    const window = this.windows.get(key);
    if (window !== undefined && window.endsAt > this.now() && window.count > 0) window.count -= 1;
  }

  close(): void {
    this.closed = true;
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    this.nextSweepAt = Math.max(SWEEP_AT, this.windows.size * 2);
  }
}
