/**
 * Sets of one connection beyond its rate limit, waiting for it instead of closing the
 * connection (today's clients stop for good on 4004 and cannot be told to slow down). At
 * most one value waits per variable: a newer set replaces it, and the older value, which
 * no one would have seen for long anyway, is dropped. They go to the store in the order
 * they first waited, as fast as the rate allows.
 */
import { TokenBucket } from './token-bucket.ts';

/** The timer's callback, one for every instance (a bound function or arrow each costs memory per client). */
function releaseWaiting(writes: WaitingWrites): void {
  writes.release();
}

export class WaitingWrites {
  /**
   * Made at the first write, full: the same as one made full at the join, since a bucket
   * never holds more than its burst (an idle client keeps none).
   */
  private bucket: TokenBucket | null = null;
  private waiting: Map<string, string> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private perSecond: number,
    private burst: number,
    /** Variables that may wait at once (the room's variable limit). */
    private readonly maxWaiting: number,
    private readonly apply: (variable: string, value: string) => void,
  ) {}

  private get tokens(): TokenBucket {
    return (this.bucket ??= new TokenBucket(this.perSecond, this.burst));
  }

  /** True when a write may go to the store now (it takes its token); false: it must wait. */
  admit(): boolean {
    // Behind writes already waiting: none overtakes another.
    if (this.waiting !== null && this.waiting.size > 0) return false;
    return this.tokens.take();
  }

  has(variable: string): boolean {
    return this.waiting?.has(variable) ?? false;
  }

  /** A newer value for a variable already waiting: it keeps its place in line. */
  replace(variable: string, value: string): void {
    this.waiting?.set(variable, value);
  }

  /** Makes the write wait; false when as many variables as allowed already wait (it is dropped). */
  hold(variable: string, value: string): boolean {
    const waiting = (this.waiting ??= new Map());
    if (waiting.size >= this.maxWaiting) return false;
    waiting.set(variable, value);
    this.timer ??= setTimeout(releaseWaiting, this.tokens.msUntil(), this);
    this.timer.unref();
    return true;
  }

  /**
   * The set rate changed (the room's policy): from now on writes go at the new one, and
   * what waits for a token is released on the new rate's schedule.
   */
  retune(perSecond: number, burst: number): void {
    this.perSecond = perSecond;
    this.burst = burst;
    this.bucket?.retune(perSecond, burst);
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(releaseWaiting, this.tokens.msUntil(), this);
    this.timer.unref();
  }

  /** Forgets every waiting write: the connection closed. */
  clear(): void {
    this.waiting = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The timer fired: what the rate allows now goes to the store, in the order it waited. */
  release(): void {
    this.timer = null;
    const waiting = this.waiting;
    if (waiting === null) return;
    const bucket = this.tokens;
    for (const [variable, value] of waiting) {
      if (!bucket.take()) break;
      waiting.delete(variable);
      this.apply(variable, value);
    }
    if (waiting.size > 0) {
      this.timer = setTimeout(releaseWaiting, bucket.msUntil(), this);
      this.timer.unref();
    }
  }
}
