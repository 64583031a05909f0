import type { BusListener, EngineStatusListener, RoomBus, RoomEvent } from '../ports.ts';
import { engineClosed, listenerAlreadySet, toError } from '../errors.ts';

interface ProbeItem {
  readonly kind: 'probe';
  readonly answer: (alive: boolean) => void;
}
type QueueItem = { readonly kind: 'event'; readonly event: RoomEvent } | ProbeItem;

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
  private queue: QueueItem[] = [];
  private scheduled = false;
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
      const item: ProbeItem = {
        kind: 'probe',
        answer: (alive) => {
          clearTimeout(timer);
          this.pendingProbes.delete(item);
          resolve(alive);
        },
      };
      const timer = setTimeout(() => item.answer(false), timeoutMs);
      this.pendingProbes.add(item);
      this.enqueue(item);
    });
  }

  /** Called by the store inside its atomic step, so queue order is store order. */
  publish(event: RoomEvent): void {
    this.enqueue({ kind: 'event', event });
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    for (const probe of [...this.pendingProbes]) probe.answer(false);
  }

  private enqueue(item: QueueItem): void {
    if (this.closed) return;
    this.queue.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const item of batch) {
      if (this.closed) return;
      try {
        this.deliver(item);
      } catch (error) {
        // A throwing listener is a bug to surface, but rethrowing here (a microtask) would
        // be an uncaughtException that ends the process: report it and deliver the rest.
        this.report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_LISTENER', error: toError(error) });
      }
    }
  }

  private deliver(item: QueueItem): void {
    if (item.kind === 'probe') {
      item.answer(true);
      return;
    }
    if (this.listener !== null && this.rooms.has(item.event.room)) this.listener.onEvent(item.event);
  }

  private assertOpen(): void {
    if (this.closed) throw engineClosed();
  }
}
