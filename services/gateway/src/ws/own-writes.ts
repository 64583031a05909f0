/**
 * One client's writes whose events have not come back from the bus, per variable, and the
 * echoes they owe: the bookkeeping behind PROTOCOL.md's convergence promise.
 *
 * While a write of a variable is in flight, events of that variable from others were
 * ordered before it by the store and must not be shown to the client. When the event of
 * its last write comes back it is not echoed, unless the write may have crossed a value of
 * the same variable on the wire (we had sent one shortly before the write arrived, so the
 * client may show that older value now): then the stored value is sent again.
 */

/**
 * A write that arrives within this time of a value of its variable that we sent may have
 * crossed it on the wire. Longer only if the client took more than this to read a frame.
 */
export const CROSSING_WINDOW_MS = 5_000;

export class OwnWrites {
  /** variable -> receive times (performance.now()) of writes whose events have not come back. */
  private inFlight: Map<string, number[]> | null = null;
  private echoOwed: Set<string> | null = null;

  /**
   * A write of `variable` received at `now` goes to the store. `lastSentAt` is when a value
   * of the variable last went to the client. Returns how many writes of it are in flight.
   */
  started(variable: string, now: number, lastSentAt: number): number {
    const inFlight = (this.inFlight ??= new Map());
    let times = inFlight.get(variable);
    if (times === undefined) inFlight.set(variable, (times = []));
    times.push(now);
    if (now - lastSentAt < CROSSING_WINDOW_MS) (this.echoOwed ??= new Set()).add(variable);
    return times.length;
  }

  /**
   * A newer write of `variable` replaced the newest one in flight before it reached the
   * store (it was waiting for the rate limit): still one write in flight, received at `now`.
   */
  replaced(variable: string, now: number, lastSentAt: number): void {
    const times = this.inFlight?.get(variable);
    if (times === undefined || times.length === 0) {
      this.started(variable, now, lastSentAt);
      return;
    }
    times[times.length - 1] = now;
    if (now - lastSentAt < CROSSING_WINDOW_MS) (this.echoOwed ??= new Set()).add(variable);
  }

  /** True while a write of `variable` is in flight: others' events of it are stale. */
  has(variable: string): boolean {
    // Nearly every event reaches members with no write in flight: then one size read, not a lookup of the event's name.
    const inFlight = this.inFlight;
    return inFlight !== null && inFlight.size !== 0 && inFlight.has(variable);
  }

  /**
   * The event of the oldest write of `variable` came back. Returns when that write was
   * received, and whether its stored value must be echoed (it was the last in flight and
   * may have crossed a value we sent).
   */
  returned(variable: string): { receivedAt: number; echo: boolean } | null {
    const times = this.inFlight?.get(variable);
    const receivedAt = times?.shift();
    if (times === undefined || receivedAt === undefined) return null;
    if (times.length > 0) return { receivedAt, echo: false };
    this.inFlight?.delete(variable);
    return { receivedAt, echo: this.echoOwed?.delete(variable) ?? false };
  }

  /** A write that will never come back. True when it was the last of its variable in flight. */
  abandoned(variable: string): boolean {
    const times = this.inFlight?.get(variable);
    if (times === undefined) return false;
    times.shift();
    if (times.length > 0) return false;
    this.inFlight?.delete(variable);
    this.echoOwed?.delete(variable);
    return true;
  }

  /** After a resync the client was sent the stored values: nothing is in flight any more. */
  clear(): void {
    this.inFlight = null;
    this.echoOwed = null;
  }
}
