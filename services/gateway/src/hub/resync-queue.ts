/**
 * When rooms' snapshots are read again (resyncs): at most `maxInFlight` reads at once, in
 * the order rooms asked, each room waiting at most once; a read that failed is tried again
 * after a delay that doubles with each failure, with jitter, up to a cap. So the end of a
 * store outage, when every room of every pod wants its snapshot at the same moment, is a
 * steady trickle of reads rather than a storm, and a store that stays down is asked ever
 * less often.
 */

export interface ResyncQueueOptions {
  readonly maxInFlight: number;
  /** The delay after a room's first failed read; doubled after each further failure. */
  readonly firstRetryMs: number;
  readonly maxRetryMs: number;
  /** [0, 1): the jitter's source (tests pass a fixed one). */
  readonly random?: () => number;
}

/** The delay before the next read of a room whose read failed `failures` times in a row: 50-150% of the doubled delay. */
export function retryDelay(failures: number, options: ResyncQueueOptions): number {
  const doubled = Math.min(options.maxRetryMs, options.firstRetryMs * 2 ** Math.max(0, failures - 1));
  return Math.round(doubled * (0.5 + (options.random ?? Math.random)()));
}

export class ResyncQueue<Room> {
  /** Rooms waiting for a read; a Set keeps them in the order they asked, each once. */
  private readonly waiting = new Set<Room>();
  private inFlight = 0;
  private readonly failures = new Map<Room, number>();
  private readonly retries = new Map<Room, NodeJS.Timeout>();
  private closed = false;

  constructor(
    /** Reads and applies the room's snapshot; rejects when the read failed. */
    private readonly read: (room: Room) => Promise<void>,
    private readonly options: ResyncQueueOptions,
    /** Told of each failed read and when it will be tried again. */
    private readonly onRetry: (room: Room, failures: number, delayMs: number, error: unknown) => void,
  ) {}

  request(room: Room): void {
    if (this.closed || this.retries.has(room)) return; // a retry is already due for it
    this.waiting.add(room);
    this.pump();
  }

  /** The room is gone from this pod: no read and no retry for it. */
  forget(room: Room): void {
    this.waiting.delete(room);
    this.failures.delete(room);
    const retry = this.retries.get(room);
    if (retry !== undefined) clearTimeout(retry);
    this.retries.delete(room);
  }

  get pending(): number {
    return this.waiting.size + this.inFlight;
  }

  close(): void {
    this.closed = true;
    this.waiting.clear();
    for (const retry of this.retries.values()) clearTimeout(retry);
    this.retries.clear();
  }

  private pump(): void {
    for (const room of this.waiting) {
      if (this.inFlight >= this.options.maxInFlight) return;
      this.waiting.delete(room);
      this.inFlight += 1;
      this.read(room)
        .then(
          () => this.failures.delete(room),
          (error: unknown) => this.retryLater(room, error),
        )
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
        });
    }
  }

  private retryLater(room: Room, error: unknown): void {
    if (this.closed) return;
    const failures = (this.failures.get(room) ?? 0) + 1;
    this.failures.set(room, failures);
    const delayMs = retryDelay(failures, this.options);
    this.onRetry(room, failures, delayMs, error);
    const timer = setTimeout(() => {
      this.retries.delete(room);
      this.request(room);
    }, delayMs);
    timer.unref();
    this.retries.set(room, timer);
  }
}
