import type { BusListener, EngineStatusListener, RoomBus, RoomEvent } from '../ports.ts';
import { engineClosed, listenerAlreadySet, toError } from '../errors.ts';

/** A probe waiting in the queue; events are queued as they are, told apart from probes by `instanceof`. */
class ProbeItem {
  constructor(readonly answer: (alive: boolean) => void) {}
}
type QueueItem = RoomEvent | ProbeItem;

/** Schedules the drain as a promise job: queueMicrotask makes an async resource per call, a resolved promise's `then` does not. */
const settled = Promise.resolve();

/** A drained array longer than this is dropped, not reused: what a quiet bus keeps is small. */
const KEPT_QUEUE_LENGTH = 1024;

/**
 * The in-process bus. Publishing only enqueues; a microtask delivers the queue in FIFO
 * order, so events keep store order yet arrive after the publishing call returned, like
 * on a network bus (a caller must not assume its `set()` resolves before or after the event).
 * Subscription is checked at delivery: once `unsubscribe()` resolved, nothing more of
 * that room reaches the listener, not even what was already queued.
 */
export class MemoryBus implements RoomBus {
  constructor(private readonly report: EngineStatusListener) {}

  private listener: BusListener | null = null;
  private readonly rooms = new Set<string>();
  /**
   * Items waiting, in `queue[0..queued)`; a drain swaps in `spare` and clears each slot it
   * delivered, so neither array is ever shrunk or grown again once it held a turn's items.
   */
  private queue: (QueueItem | undefined)[] = [];
  private queued = 0;
  private spare: (QueueItem | undefined)[] = [];
  private scheduled = false;
  private readonly drainQueue = (): void => this.drain();
  private closed = false;
  private readonly pendingProbes = new Set<ProbeItem>();

  listen(listener: BusListener): void {
    if (this.listener !== null) throw listenerAlreadySet();
    this.listener = listener;
  }

  async subscribe(rooms: readonly string[]): Promise<void> {
    this.assertOpen();
    for (const room of rooms) this.rooms.add(room);
  }

  async unsubscribe(rooms: readonly string[]): Promise<void> {
    this.assertOpen();
    for (const room of rooms) this.rooms.delete(room);
  }

  probe(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const item = new ProbeItem((alive) => {
        clearTimeout(timer);
        this.pendingProbes.delete(item);
        resolve(alive);
      });
      const timer = setTimeout(() => item.answer(false), timeoutMs);
      this.pendingProbes.add(item);
      this.enqueue(item);
    });
  }

  /** Called by the store inside its atomic step, so queue order is store order. */
  publish(event: RoomEvent): void {
    this.enqueue(event);
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    for (const probe of [...this.pendingProbes]) probe.answer(false);
  }

  private enqueue(item: QueueItem): void {
    if (this.closed) return;
    this.queue[this.queued++] = item;
    if (!this.scheduled) {
      this.scheduled = true;
      void settled.then(this.drainQueue);
    }
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.queue;
    const count = this.queued;
    // What the listeners publish meanwhile goes to the other array and the next drain.
    this.queue = this.spare;
    this.queued = 0;
    try {
      for (let i = 0; i < count; i++) {
        const item = batch[i] as QueueItem;
        batch[i] = undefined;
        if (this.closed) return;
        try {
          this.deliver(item);
        } catch (error) {
          // A throwing listener is a bug to surface, but rethrowing here (a microtask) would
          // be an uncaughtException that ends the process: report it and deliver the rest.
          this.report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_LISTENER', error: toError(error) });
        }
      }
    } finally {
      // A burst's array is let go rather than kept at its size for good.
      this.spare = count > KEPT_QUEUE_LENGTH ? [] : batch;
    }
  }

  private deliver(item: QueueItem): void {
    if (item instanceof ProbeItem) {
      item.answer(true);
      return;
    }
    if (this.listener !== null && this.rooms.has(item.room)) this.listener.onEvent(item);
  }

  private assertOpen(): void {
    if (this.closed) throw engineClosed();
  }
}
