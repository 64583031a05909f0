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

  /** Takes `cost` tokens; false when the bucket holds fewer (the message exceeds the rate). */
  take(cost = 1): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}
