/**
 * When one client's socket is read, and what a joined client's frames become.
 *
 * ClientReading is the base of Session (one object per client, not two). Every frame of the
 * client comes in here and is charged to its frame limit; a joined client's frame is then
 * parsed straight into its writes (member-writes.ts), so a set never enters the session. A
 * frame before the join is the session's (`beforeJoin`: its handshake, or held while the join
 * is in flight), and so is the close (`onClose`). The ping round's answer is checked here,
 * knowing that a socket we stopped reading cannot answer.
 *
 * Why the socket is not read, one bit each: the join, the flood, the store (store-pressure.ts).
 * Each resumes on its own schedule (the join ends, the flood debt is paid, the store catches
 * up); the socket is read again only when none is left, so one resuming never undoes another.
 */
import { CloseCode, parseFrame, type Dialect, type MessageSink } from '@cloudvars/protocol';
import type { WebSocket } from 'ws';
import type { GatewayMetrics } from '../metrics.ts';
import type { RoomRules } from '../policy/room-limits.ts';
import { answersPing, pingRound } from '../sockets/socket-registry.ts';
import type { ClientSocket } from './client-socket.ts';
import type { Pausable, StorePressure } from './store-pressure.ts';
import type { TokenBucket } from './token-bucket.ts';

const PAUSED_FOR_JOIN = 1;
const PAUSED_FOR_FLOOD = 2;
const PAUSED_FOR_STORE = 4;

/** Rate-limit cost: one token per frame, plus one per started 4 KiB (parsing costs by size). */
const BYTES_PER_TOKEN = 4096;

function byteLength(data: unknown): number {
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer) return data.byteLength;
  if (Array.isArray(data)) return data.reduce((sum: number, part: Buffer) => sum + part.byteLength, 0);
  return 0;
}

/** What reading needs of the pod's services (ClientServices holds them all). */
export interface ReadingServices {
  readonly metrics: GatewayMetrics;
  readonly pressure: StorePressure;
}

/**
 * A joined client's place in its room as its frames need it (member-view.ts): the room, whose
 * rules (its policy's limits, kept current by the hub) they are parsed by, and the writes
 * they are parsed into.
 */
export interface ReadInto {
  readonly room: { readonly name: string; readonly rules: RoomRules };
  writer(): MessageSink;
}

/**
 * The reading of each socket, for listeners shared by every socket: a closure per listener
 * and their context would cost about 200 bytes of every idle client.
 */
const readings = new WeakMap<WebSocket, ClientReading<ReadingServices, ReadInto>>();

export abstract class ClientReading<Services extends ReadingServices, View extends ReadInto> implements Pausable {
  /** PAUSED_FOR_* bits: why the socket is not read now (0: it is read). */
  private pausedFor = 0;
  /** Reading was paused at some time since the last ping round: its pong may wait unread. */
  private pausedSincePing = false;
  /** Resumes reading once the flood debt is paid; null while not paced. */
  private floodTimer: NodeJS.Timeout | null = null;
  /** The payload of our last ping while its pong has not come back (sockets/socket-registry.ts: the ping round's rule). */
  private pongDue: Buffer | null = null;
  /**
   * Made at the handshake, by the dialect: 2020 clients, the frame rate, closed beyond it
   * (4004); today's clients, FLOOD_BURST frames at once, then paced to FLOOD_LIMIT_PER_SECOND
   * (never closed). Null before: the handshake frame passes whatever it costs (a full bucket
   * takes any frame).
   */
  protected bucket: TokenBucket | null = null;
  /** True: frames beyond the bucket are paced (today's clients); false: closed with 4004 (2020 clients). */
  protected paced = false;
  /** The client's dialect, from its handshake. */
  protected dialect: Dialect | null = null;
  /** The client's view of its room once joined: from then on its frames are parsed into its writes. */
  protected view: View | null = null;

  protected constructor(
    protected readonly client: ClientSocket,
    protected readonly context: Services,
  ) {
    const { socket } = client;
    readings.set(socket, this);
    socket.on('message', ClientReading.onSocketMessage);
    socket.on('pong', ClientReading.onSocketPong);
    socket.on('close', ClientReading.onSocketClose);
    // Socket errors (a frame too big, invalid UTF-8, a reset) are counted and logged at debug
    // by the socket plugin, then ws closes: onClose follows.
  }

  private static onSocketMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    readings.get(this)?.read(data, isBinary);
  }

  private static onSocketPong(this: WebSocket, data: Buffer): void {
    readings.get(this)?.ponged(data);
  }

  private static onSocketClose(this: WebSocket, code: number): void {
    readings.get(this)?.onClose(code);
  }

  /** The flood timer, one function for every client. */
  private static onFloodPaid(reading: ClientReading<ReadingServices, ReadInto>): void {
    reading.floodTimer = null;
    if (reading.bucket === null) return;
    // Frames read after the pause (the rest of a TCP read) added to the debt.
    const waitMs = reading.bucket.charge(0);
    if (waitMs > 0) reading.floodTimer = setTimeout(ClientReading.onFloodPaid, waitMs, reading);
    else reading.resumeFrom(PAUSED_FOR_FLOOD);
  }

  /** A frame before the client is in its room (the handshake, or one sent during the join), with what it cost. */
  protected abstract beforeJoin(text: string, cost: number): void;

  /** The socket closed (its 'close' event), once. */
  protected abstract onClose(code: number): void;

  /** One frame: charged to the frame limit, then parsed into the writes of a joined client, else the session's. */
  private read(data: unknown, isBinary: boolean): void {
    // Once a close has begun, later frames change nothing (and must not be counted twice).
    if (!this.client.isOpen) return;
    const { metrics } = this.context;
    metrics.messagesIn.inc();
    const cost = 1 + Math.floor(byteLength(data) / BYTES_PER_TOKEN);
    if (this.bucket === null) {
      // The handshake frame: its dialect chooses the bucket (Session.beforeJoin).
    } else if (this.paced) {
      this.pace(cost, this.bucket);
    } else if (!this.bucket.take(cost)) {
      // 2020 clients (PROTOCOL.md): 4004, try again later.
      this.client.closeForMisbehaviour(CloseCode.TryAgainLater, 'rate-limit');
      return;
    }
    if (isBinary) {
      this.client.closeForMisbehaviour(CloseCode.Generic, 'binary-frame');
      return;
    }
    const text = String(data);
    const { view, dialect } = this;
    if (view === null || dialect === null) {
      this.beforeJoin(text, cost);
      return;
    }
    // Every message of the frame goes to the client's writes, in order, until one fails.
    const error = parseFrame(text, dialect, view.room.rules.limits, view.writer());
    if (error !== null) this.client.closeForMisbehaviour(error.code, error.reason);
    const { pressure } = this.context;
    if (pressure.high && this.client.isOpen) pressure.hold(this);
  }

  /**
   * Flood pacing of today's clients, which stop for good on some codes and are not slowed
   * by any: the frame was read and counts; once the burst is spent, the socket is not read
   * until the debt is paid at FLOOD_LIMIT_PER_SECOND. TCP pushes back on this client alone,
   * and what it sends later is read later, not lost (its sets per variable are coalesced
   * while they wait for the set rate). `floodPauses` counts each pause.
   */
  private pace(cost: number, bucket: TokenBucket): void {
    const waitMs = bucket.charge(cost);
    if (waitMs === 0 || this.floodTimer !== null) return;
    this.context.metrics.floodPauses.inc();
    this.pauseFor(PAUSED_FOR_FLOOD);
    this.floodTimer = setTimeout(ClientReading.onFloodPaid, waitMs, this);
  }

  /** Pausable: the store lags (store-pressure.ts); TCP pushes back on the client meanwhile. */
  pauseReading(): void {
    this.pauseFor(PAUSED_FOR_STORE);
  }

  /** Pausable. */
  resumeReading(): void {
    this.resumeFrom(PAUSED_FOR_STORE);
  }

  /** Read nothing more until the client is in the room (TCP pushes back on a flood). */
  protected pauseForJoin(): void {
    this.pauseFor(PAUSED_FOR_JOIN);
  }

  protected resumeAfterJoin(): void {
    this.resumeFrom(PAUSED_FOR_JOIN);
  }

  /** The connection closed: no timer of its reading is left, and the store pressure forgets it. */
  protected stopReading(): void {
    if (this.floodTimer !== null) clearTimeout(this.floodTimer);
    this.floodTimer = null;
    this.context.pressure.forget(this);
  }

  /** A pong: it counts only when it carries our last ping's payload (answersPing). */
  private ponged(data: Buffer): void {
    if (answersPing(this.pongDue, data)) this.pongDue = null;
  }

  /** Ping round (`payload` is the round's, shared by every session): drop a client that did not answer the previous ping. */
  ping(payload: Buffer): void {
    const { client } = this;
    if (!client.isOpen) return;
    // Not read for a while by our choice (join, flood, store): its pong may wait unread.
    const pausedByUs = this.pausedFor !== 0 || this.pausedSincePing;
    this.pausedSincePing = this.pausedFor !== 0;
    const due = pingRound(client.socket, this.pongDue, payload, pausedByUs);
    if (due === 'missed') {
      client.log('info', { room: client.room }, 'no pong to the previous ping: dropping');
      client.socket.terminate();
      return;
    }
    this.pongDue = due;
  }

  private pauseFor(reason: number): void {
    if (this.pausedFor === 0) this.client.socket.pause();
    this.pausedFor |= reason;
    this.pausedSincePing = true;
  }

  private resumeFrom(reason: number): void {
    if ((this.pausedFor & reason) === 0) return;
    this.pausedFor &= ~reason;
    // Closing too: the client's close frame waits behind what was not read (ws ignores a closed socket).
    if (this.pausedFor === 0) this.client.socket.resume();
  }
}
