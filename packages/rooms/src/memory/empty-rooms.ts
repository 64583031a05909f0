/**
 * Empty rooms -> when they became empty, in insertion order: that time's order, except when
 * a room comes in out of order (MemoryStore.touch moves one over from the untouched rooms: it
 * may then be forgotten late, never early). The store sweeps at every call, and nearly always
 * nothing is due: a lower bound of every time held answers that with one comparison, where a
 * scan of the Map made an iterator and an entry array each time.
 */
export class EmptyRooms {
  private readonly since = new Map<string, number>();
  /** No time held is earlier than this; +Infinity when none is held. */
  private earliest = Number.POSITIVE_INFINITY;
  /** The latest time added in order, to tell whether the next one keeps the Map in time order. */
  private latest = Number.NEGATIVE_INFINITY;
  /**
   * The names whose place in the Map is not their time's (added earlier than `latest`, or set
   * again in place). The others came in time order, so while none of these is held the first
   * entry holds the earliest time; a flag would stay false until the Map emptied, and the
   * store's Map is rarely empty.
   */
  private readonly outOfOrder = new Set<string>();

  get(name: string): number | undefined {
    return this.since.get(name);
  }

  set(name: string, at: number): void {
    // A name already held keeps its place in the Map with a new time: the order may break too.
    if (at < this.latest || this.since.has(name)) this.outOfOrder.add(name);
    else this.latest = at;
    if (at < this.earliest) this.earliest = at;
    this.since.set(name, at);
  }

  delete(name: string): void {
    if (!this.since.delete(name)) return;
    this.outOfOrder.delete(name);
    if (this.since.size > 0) return;
    this.earliest = Number.POSITIVE_INFINITY;
    this.latest = Number.NEGATIVE_INFINITY;
  }

  /**
   * Takes out, from the front, every room empty for `ttl` (0: none ever is) by `now`, up to
   * the first that is not (as a scan of the Map in its order does), and tells `forget` of each.
   */
  sweep(ttl: number, now: number, forget: (name: string) => void): void {
    if (ttl <= 0 || this.earliest + ttl > now) return;
    for (const [name, at] of this.since) {
      if (at + ttl > now) {
        // In time order the first one left is the earliest; otherwise the bound stays as it is (still below every time).
        if (this.outOfOrder.size === 0) this.earliest = at;
        return;
      }
      this.delete(name);
      forget(name);
    }
  }
}
