/**
 * Per-client batching. Updates for one client are held until the pod flushes them (see
 * FlushScheduler: at the end of the turn for a client not yet written this tick, else at the
 * pod's next tick), then written as one newline-joined frame. Several updates of one
 * variable inside a batch collapse to the newest, so a slow client holds at most one
 * pending value per variable (DESIGN.md invariant 6: bounded memory per client). The frame
 * is framed once for every client it goes to, WebSocket header included (textFrame, below).
 */

import { Socket } from 'node:net';
import { joinFrame } from '@cloudvars/protocol';
import { WebSocket } from 'ws';
import { CROSSING_WINDOW_MS } from './own-writes.ts';

/** ws's options for a frame given as bytes that is text (ws would send a Buffer as binary). */
const TEXT_FRAME = { binary: false } as const;

/** The part of a ws WebSocket the outbox needs. */
export interface FrameSink {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | Buffer, options: { readonly binary: boolean }): void;
}

/**
 * Send times older than the crossing window decide nothing (own-writes.ts): once a client
 * was sent more names than this (renames cycling through names), the old ones are dropped.
 */
const SENT_AT_PRUNE_SIZE = 256;

function forgetOlderThan(sentAt: Map<string, number>, cutoff: number): void {
  for (const [variable, at] of sentAt) if (at < cutoff) sentAt.delete(variable);
}

/**
 * A client written a frame within this many ticks is being streamed to: its next update waits
 * for the next tick, gathered with whatever else comes for it meanwhile. One written to longer
 * ago is idle: its update leaves at once. 3 ticks of 16 ms is about TurboWarp's client's own
 * 50 ms between sends, so a lone update still goes out at once at a light load, while under a
 * steady stream frames carry as many updates as the peer's 60 Hz batches (issue 21).
 */
export const BUSY_TICKS = 3;

/** A client over its send-buffer limit is looked at again after this pause. */
const SLOW_CONSUMER_RETRY_MS = 100;

/**
 * Where the outbox reports a client that does not read: the client's socket end
 * (client-socket.ts), below the outbox in the flow, never the session above it.
 */
export interface OutboxReports {
  /** The socket's unsent data stayed above the limit: the client is not reading (close it). */
  slowConsumer(): void;
}

/**
 * Counts the frames the pod's outboxes write and the messages they hold (the metrics' frames
 * and messages out): told once per flush of the pod's outboxes, not once per frame.
 */
export type FramesSent = (frames: number, messages: number) => void;

/*
 * The frame as bytes on the wire. A text frame is framed once for every client it goes to
 * (STYLE.md "encode once, send many", down to the WebSocket header): the outbox writes the
 * very same bytes to each client's TCP socket, one `write` each, where `ws`'s `send` would
 * build a header, two option objects and a two-chunk corked write per client.
 *
 * Only for what `ws` would send the same way: a server's frames are not masked (RFC 6455
 * 5.1), the pod negotiates no compression (plugins/cloud-socket.ts: perMessageDeflate off),
 * and the frame is whole (FIN). `ws`'s own writes to the socket (pings, pongs, the close
 * frame) are single synchronous writes too, so frames never interleave within one.
 */

/** FIN and the text opcode (RFC 6455 5.2). */
const FIN_TEXT = 0x81;
/** Payload lengths up to this fit in the header's 7 bits; up to 65535 take 2 more bytes, then 8. */
const SHORT_PAYLOAD = 125;
const MEDIUM_PAYLOAD = 65_535;

/** `payload` (UTF-8) as one unmasked, final text frame: header and payload in one buffer. */
export function textFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const header = length <= SHORT_PAYLOAD ? 2 : length <= MEDIUM_PAYLOAD ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = FIN_TEXT;
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(payload, header, 'utf8');
  return frame;
}

/**
 * The TCP socket under a `ws` WebSocket, to write framed bytes to; null for anything else (a
 * test's sink) or a socket that negotiated an extension (then `ws` must frame every message).
 * `ws` keeps it in `_socket` from the upgrade on; its `bufferedAmount` counts what is written
 * to it directly as well.
 */
export function tcpSocketOf(sink: unknown): Socket | null {
  if (!(sink instanceof WebSocket) || sink.extensions !== '') return null;
  const socket: unknown = Reflect.get(sink, '_socket');
  return socket instanceof Socket ? socket : null;
}

/**
 * The frame the flush wrote last, as bytes, and the messages it holds (the very string
 * objects, shared by every member of a room through EventText). The members of a room are
 * flushed one after the other and most of them are owed the same updates: each of those
 * sends these bytes again instead of joining and encoding its own copy (STYLE.md "encode
 * once, send many").
 */
class LastFrame {
  /** The messages of the frame, in order; empty: none yet in this flush. */
  private messages: readonly string[] = [];
  private text = '';
  /** The frame's payload, and the whole frame with its header (textFrame), each made once when first needed. */
  private payloadBytes: Buffer | null = null;
  private framedBytes: Buffer | null = null;

  /** Makes the last frame hold `pending`'s messages, in order, unless it does already. */
  holdAll(pending: ReadonlyMap<string, string>): void {
    if (this.messages.length === pending.size && this.messages.length > 0) {
      let i = 0;
      let same = true;
      for (const message of pending.values()) {
        if (message !== this.messages[i++]) {
          same = false;
          break;
        }
      }
      if (same) return;
    }
    this.hold([...pending.values()]);
  }

  /** Makes the last frame this one message, unless it is already. */
  holdOne(message: string): void {
    if (this.messages.length !== 1 || this.messages[0] !== message) this.hold([message]);
  }

  private hold(messages: readonly string[]): void {
    this.messages = messages;
    this.text = joinFrame(messages);
    this.payloadBytes = null;
    this.framedBytes = null;
  }

  /** The payload, for a sink that frames it itself (ws's send). */
  payload(): Buffer {
    return (this.payloadBytes ??= Buffer.from(this.text));
  }

  /** Header and payload, for a client's TCP socket. */
  framed(): Buffer {
    return (this.framedBytes ??= textFrame(this.text));
  }

  clear(): void {
    this.messages = [];
    this.text = '';
    this.payloadBytes = null;
    this.framedBytes = null;
  }
}

export class Outbox {
  /**
   * True while the outbox is marked for the next flush (or waits for a retry): only the first
   * update of a batch marks it. (Dropping a slow consumer empties it while still marked: its
   * flush then finds nothing.)
   */
  private marked = false;
  /**
   * The batch while it holds at most one update (most do): its variable (null: none) and
   * message, in two fields, so a batch of one allocates nothing.
   */
  private oneVariable: string | null = null;
  private oneMessage = '';
  /**
   * The batch once it holds updates of two variables: variable name -> encoded message, Map
   * order = the order of the newest updates (the one update moves in first). Null otherwise,
   * so an idle client holds no Map.
   */
  private pending: Map<string, string> | null = null;
  /** variable -> when a value of it was last written to the socket (performance.now()). */
  private sentAt: Map<string, number> | null = null;
  /**
   * When the join snapshot (or the creator's corrections) went out, and the names it held:
   * one time and a Set shared by the room's members instead of a Map entry each, so an idle
   * client keeps no per-variable state.
   */
  private snapshotAt = Number.NEGATIVE_INFINITY;
  private snapshotNames: ReadonlySet<string> | null = null;
  private overLimitSince = 0;
  /**
   * The pod tick (FlushScheduler.tickNow) of the last frame written to this client: at most
   * one frame per tick, so while updates keep coming they gather into one frame a tick.
   */
  lastFrameTick = Number.NEGATIVE_INFINITY;

  /** The TCP socket under the sink when it is a ws WebSocket: frames are written to it framed once per pod (textFrame). */
  private readonly tcp: Socket | null;

  constructor(
    private readonly sink: FrameSink,
    private readonly scheduler: FlushScheduler,
    private readonly reports: OutboxReports,
  ) {
    this.tcp = tcpSocketOf(sink);
  }

  put(variable: string, message: string): void {
    if (!this.marked) {
      this.marked = true;
      this.scheduler.mark(this);
    }
    const pending = this.pending;
    if (pending !== null) {
      // delete first so the Map keeps the order of the newest updates
      pending.delete(variable);
      pending.set(variable, message);
      return;
    }
    const one = this.oneVariable;
    if (one === null || one === variable) {
      this.oneVariable = variable;
      this.oneMessage = message;
      return;
    }
    this.pending = new Map([
      [one, this.oneMessage],
      [variable, message],
    ]);
    this.oneVariable = null;
    this.oneMessage = '';
  }

  /** Forgets a queued update (it was superseded by the client's own write). */
  drop(variable: string): void {
    if (this.pending !== null) this.pending.delete(variable);
    else if (this.oneVariable === variable) {
      this.oneVariable = null;
      this.oneMessage = '';
    }
  }

  /**
   * The client wrote `variable`: a queued update of it was ordered before the write and is
   * dropped. Returns when a value of it may last have been written to the client (lastSent),
   * which decides whether the write may have crossed it (own-writes.ts).
   */
  supersede(variable: string): number {
    this.drop(variable);
    return this.lastSent(variable);
  }

  /**
   * Writes the join snapshot (or the creator's corrections) now, as one frame ahead of any
   * update: it is what the client's view starts from. Nothing else can be pending yet.
   */
  sendSnapshot(messages: readonly string[], names: ReadonlySet<string>): void {
    if (messages.length === 0 || this.sink.readyState !== WebSocket.OPEN) return;
    this.sink.send(joinFrame(messages), TEXT_FRAME);
    this.snapshotAt = performance.now();
    this.lastFrameTick = this.scheduler.tickNow();
    this.snapshotNames = names;
    this.scheduler.sent(1, messages.length);
  }

  /**
   * When a value of `variable` may last have been written to the client; -Infinity if
   * never. The snapshot counts for every variable it held (an earlier time is never returned).
   */
  lastSent(variable: string): number {
    const sent = this.sentAt?.get(variable) ?? Number.NEGATIVE_INFINITY;
    return this.snapshotNames?.has(variable) === true ? Math.max(sent, this.snapshotAt) : sent;
  }

  /**
   * Whether the client keeps up with what it is sent: called at every flush and by the pod's
   * sweep every second, whether or not anything is pending (a client that stopped reading
   * may be sent nothing more). Once its unsent data stayed over the limit for the grace
   * period, it is reported (the client is closed). Returns the bytes still unsent.
   */
  checkBacklog(now: number): number {
    const buffered = this.sink.bufferedAmount;
    if (buffered <= this.scheduler.sendBufferLimitBytes) {
      this.overLimitSince = 0;
      return buffered;
    }
    if (this.overLimitSince === 0) this.overLimitSince = now;
    else if (now - this.overLimitSince >= this.scheduler.slowConsumerGraceMs) {
      this.release();
      this.reports.slowConsumer();
    }
    return buffered;
  }

  /** Writes what is pending now, outside the pod's flushes (the drain, before closing the socket). */
  flush(): void {
    this.scheduler.flushOne(this);
  }

  /** Writes what is pending as one frame: called by the scheduler's flush (FlushScheduler.flushSet). */
  write(): void {
    if (!this.marked) return;
    const pending = this.pending;
    const one = this.oneVariable;
    const size = pending !== null ? pending.size : one !== null ? 1 : 0;
    if (size === 0 || this.sink.readyState !== WebSocket.OPEN) {
      this.release();
      return;
    }
    const scheduler = this.scheduler;
    if (this.checkBacklog(scheduler.flushStartedAt) > scheduler.sendBufferLimitBytes) {
      // Keep coalescing instead of piling more onto the socket.
      if (this.marked) scheduler.retryLater(this);
      return;
    }
    const last = scheduler.lastFrame;
    if (pending !== null) last.holdAll(pending);
    else last.holdOne(this.oneMessage);
    if (this.tcp !== null) this.tcp.write(last.framed());
    else this.sink.send(last.payload(), TEXT_FRAME);
    this.lastFrameTick = scheduler.flushTick;
    const now = performance.now();
    const sentAt = (this.sentAt ??= new Map());
    if (pending !== null) for (const variable of pending.keys()) sentAt.set(variable, now);
    else if (one !== null) sentAt.set(one, now);
    if (sentAt.size > SENT_AT_PRUNE_SIZE) forgetOlderThan(sentAt, now - CROSSING_WINDOW_MS);
    scheduler.frameWritten(size);
    this.release();
  }

  /** Nothing is pending any more (the next update marks the outbox again). */
  private release(): void {
    this.marked = false;
    this.pending = null;
    this.oneVariable = null;
    this.oneMessage = '';
  }
}

/**
 * One per pod: flushes every outbox that received updates, on a cadence that follows load.
 * Time is cut into ticks of `tickMs` (the pod's frame rate: 16 ms is 62.5 a second, never
 * slower than a 60 FPS project draws). A client is written at most one frame per tick:
 * - an update for an idle client (written no frame in its last BUSY_TICKS ticks) leaves at
 *   the end of its event-loop turn, so a lone update waits for nothing;
 * - updates for a busy client (written a frame within BUSY_TICKS ticks) wait for the next
 *   tick, when one pod-wide timer writes every waiting client's batch as one frame each.
 * So below saturation a client gets about one frame per update, and as updates come faster
 * each frame carries more of them, while no client waits longer than one tick (plus the
 * event loop's own lag, which under saturation stretches the tick and packs frames further).
 * Each frame costs a system call (its `writev`, on loopback also the reader's delivery), so
 * the cost per delivered update falls as load rises. `tickMs` 0: every turn, no tick.
 */
export class FlushScheduler {
  /** Outboxes due at the end of this turn: not yet written a frame in the current tick. */
  private dirty = new Set<Outbox>();
  /** The set `dirty` was before the last flush, emptied: reused rather than made anew. */
  private spare = new Set<Outbox>();
  /** Outboxes written a frame this tick already: flushed by the next tick's timer. */
  private waiting = new Set<Outbox>();
  private spareWaiting = new Set<Outbox>();
  private scheduled = false;
  private tickTimer: NodeJS.Timeout | null = null;
  private retry = new Set<Outbox>();
  private retryTimer: NodeJS.Timeout | null = null;
  /** The frame written last in the current flush (see LastFrame). */
  readonly lastFrame = new LastFrame();
  /** The tick of the flush under way, read once per flush rather than once per frame. */
  flushTick = Number.NEGATIVE_INFINITY;
  /**
   * Date.now() when the flush under way began: the backlog check's clock, whose grace is
   * seconds (a flush takes milliseconds), read once per flush rather than once per frame.
   */
  flushStartedAt = 0;
  /** Frames and messages the flush under way wrote: told to `sent` once, when it ends. */
  private framesInFlush = 0;
  private messagesInFlush = 0;

  constructor(
    readonly sendBufferLimitBytes: number,
    readonly slowConsumerGraceMs: number,
    private readonly tickMs = 0,
    /** Told of every frame written, with its number of messages. */
    readonly sent: FramesSent = () => undefined,
  ) {}

  /** The current tick's number (with no tick, every millisecond fraction is its own). */
  tickNow(): number {
    const now = performance.now();
    return this.tickMs === 0 ? now : Math.floor(now / this.tickMs);
  }

  mark(outbox: Outbox): void {
    if (this.tickMs !== 0) {
      const now = performance.now();
      const tick = Math.floor(now / this.tickMs);
      if (outbox.lastFrameTick > tick - BUSY_TICKS) {
        this.waiting.add(outbox);
        // One timer for the pod, at the next tick's start (rounded up: never early).
        this.tickTimer ??= setTimeout(this.flushWaiting, Math.ceil((tick + 1) * this.tickMs - now));
        return;
      }
    }
    this.dirty.add(outbox);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushTurn);
  }

  /** Writes everything pending now, both sets (the drain before closing sockets; tests). */
  readonly flushAll = (): void => {
    this.flushTurn();
    this.flushWaiting();
  };

  /** The end of a turn: the idle clients whose update came in it. */
  private readonly flushTurn = (): void => {
    this.scheduled = false;
    const dirty = this.dirty;
    this.dirty = this.spare;
    this.flushSet(dirty);
    this.spare = dirty;
  };

  /** The tick: every client that waited for it, one frame each. */
  private readonly flushWaiting = (): void => {
    if (this.tickTimer !== null) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    const waiting = this.waiting;
    this.waiting = this.spareWaiting;
    this.flushSet(waiting);
    this.spareWaiting = waiting;
  };

  /** An outbox of the flush under way wrote a frame of `messages` messages. */
  frameWritten(messages: number): void {
    this.framesInFlush++;
    this.messagesInFlush += messages;
  }

  private flushSet(outboxes: Set<Outbox>): void {
    this.beginFlush();
    try {
      for (const outbox of outboxes) outbox.write();
    } finally {
      outboxes.clear();
      this.endFlush();
    }
  }

  /** One outbox's pending updates now, as a flush of its own (Outbox.flush). */
  flushOne(outbox: Outbox): void {
    this.beginFlush();
    try {
      outbox.write();
    } finally {
      this.endFlush();
    }
  }

  private beginFlush(): void {
    this.flushTick = this.tickNow();
    this.flushStartedAt = Date.now();
  }

  private endFlush(): void {
    // Nothing outlives the flush: the bytes of a frame are the sockets' now.
    this.lastFrame.clear();
    const frames = this.framesInFlush;
    if (frames === 0) return;
    const messages = this.messagesInFlush;
    this.framesInFlush = 0;
    this.messagesInFlush = 0;
    this.sent(frames, messages);
  }

  retryLater(outbox: Outbox): void {
    this.retry.add(outbox);
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = null;
      const retry = this.retry;
      this.retry = new Set();
      for (const item of retry) this.mark(item);
    }, SLOW_CONSUMER_RETRY_MS);
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retry.clear();
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
  }
}
