/**
 * Rate limit per connection: `burst` tokens, refilled at `perSecond`; each message takes
 * one. Refilled lazily from the clock on each take, so an idle connection costs no timer.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.tokens = burst;
    this.updatedAt = this.now();
  }

  /** Takes one token; false when the bucket is empty (the message exceeds the rate). */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
