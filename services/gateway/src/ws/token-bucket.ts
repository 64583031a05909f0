/**
 * Rate limit per connection: `burst` tokens, refilled at `perSecond`; each message takes
 * one. Refilled lazily from the clock on each take, so an idle connection costs no timer.
 */
/** The default clock, one for every bucket (a bound function each would cost 70 bytes a bucket). */
const monotonicMs = (): number => performance.now();

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private perSecond: number,
    private burst: number,
    private readonly now: () => number = monotonicMs,
  ) {
    this.tokens = burst;
    this.updatedAt = this.now();
  }

  /**
   * Takes `cost` tokens; false when the bucket holds fewer (the message exceeds the rate).
   * A cost above the burst is charged as the whole burst: such a message passes only with
   * a full bucket, instead of never.
   */
  take(cost = 1): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    this.updatedAt = now;
    const charged = Math.min(cost, this.burst);
    if (this.tokens < charged) return false;
    this.tokens -= charged;
    return true;
  }

  /**
   * Takes `cost` tokens even beyond what the bucket holds: what is missing is a debt that the
   * refill pays back first. Returns the milliseconds until the bucket holds a token again (0:
   * it holds one now). For a reader that has already read what it charges and can only stop
   * reading more (flood pacing): the next message waits for the debt to be paid.
   */
  charge(cost: number): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000) - cost;
    this.updatedAt = now;
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }

  /**
   * Changes the rate from now on (a project policy's set rate). What was spent stays spent:
   * a bigger burst adds its extra room to the tokens (a client back on a generous rate is not
   * held to the strict one's last token), a smaller one cuts what is over it; a debt stays
   * to be paid at the new rate.
   */
  retune(perSecond: number, burst: number): void {
    const now = this.now();
    const refilled = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    this.tokens = Math.min(burst, refilled + Math.max(0, burst - this.burst));
    this.updatedAt = now;
    this.perSecond = perSecond;
    this.burst = burst;
  }

  /** Milliseconds until `cost` tokens are there (0 when they are now). */
  msUntil(cost = 1): number {
    const now = this.now();
    const tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    const missing = Math.min(cost, this.burst) - tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.perSecond);
  }
}
