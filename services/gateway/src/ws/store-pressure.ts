/**
 * Back-pressure from the store to the clients. Each change a client sends is a store call;
 * when the store answers more slowly than clients send (Redis busy or far away, the pod
 * short of CPU), calls pile up in the pod (commands, promises, bookkeeping) with its memory
 * and latency, until commands time out. At `limit` calls in flight, a session that sends
 * stops being read (TCP pushes back on its client, who keeps its newest values to send)
 * until half of the calls came back, or, at the latest, until the pod's next sweep finds
 * them below the limit (so calls that hover between half and the limit pause nobody for
 * long).
 *
 * A call is counted until its promise settles, which for a Redis call is its deadline at
 * the latest: a command abandoned then may still wait in ioredis's queue (a Cluster's
 * offline queue has no command timeout), so during a long outage each deadline lets
 * paused clients send up to half the limit more.
 */

/** A connection that can stop and restart reading its socket. */
export interface Pausable {
  pauseReading(): void;
  resumeReading(): void;
}

export class StorePressure {
  private calls = 0;
  private readonly paused = new Set<Pausable>();

  constructor(
    /** Calls in flight at which senders stop being read. */
    private readonly limit: number,
    /** Called for each connection paused (a metric). */
    private readonly onPause: () => void = () => undefined,
  ) {}

  /** Store calls this pod's clients have in flight. */
  get inFlight(): number {
    return this.calls;
  }

  /** True while senders must wait: call `hold` for them. */
  get high(): boolean {
    return this.calls >= this.limit;
  }

  started(): void {
    this.calls += 1;
  }

  settled(): void {
    this.calls -= 1;
    if (this.paused.size > 0 && this.calls <= this.limit / 2) this.releaseAll();
  }

  /** Stops reading `connection` until the calls in flight fell to half the limit. */
  hold(connection: Pausable): void {
    if (this.paused.has(connection)) return;
    this.paused.add(connection);
    this.onPause();
    connection.pauseReading();
  }

  /** Whether `connection` is paused here (its socket is not read, so neither are its pongs). */
  holds(connection: Pausable): boolean {
    return this.paused.has(connection);
  }

  /** The pod's sweep (every second): below the limit, nobody waits any longer. */
  sweep(): void {
    if (this.paused.size > 0 && this.calls < this.limit) this.releaseAll();
  }

  /** The connection closed: nothing to resume. */
  forget(connection: Pausable): void {
    this.paused.delete(connection);
  }

  private releaseAll(): void {
    const paused = [...this.paused];
    this.paused.clear();
    for (const connection of paused) connection.resumeReading();
  }
}
