/**
 * One client connection, as a state machine: awaiting handshake -> joining -> joined ->
 * closed. It reads the socket: each frame is charged to the rate or flood limit, then the
 * handshake goes to the join (join.ts), the frames sent during the join are held
 * (held-messages.ts), and a joined client's frames are parsed straight into its writes
 * (member-writes.ts). It owns when the socket is read (join, flood, store pressure), the
 * ping round's answer, and the close: the registry forgets it and its lease is given back.
 * Everything it starts writes to the client's socket end (client-socket.ts), never back here.
 */
import { CloseCode, parseFrame, parseHandshakeFrame, type Dialect } from '@cloudvars/protocol';
import type { Lease } from '@cloudvars/rooms';
import type { WebSocket } from 'ws';
import type { Visitor } from '../hook/handshake-hook.ts';
import { closeCodeLabel } from '../metrics.ts';
import { policyFor, type ClientPolicy } from './client-policy.ts';
import type { ClientServices } from './client-services.ts';
import { ClientSocket } from './client-socket.ts';
import { HeldMessages } from './held-messages.ts';
import { join } from './join.ts';
import type { MemberView } from './member-view.ts';
import { MemberWrites } from './member-writes.ts';
import { Outbox } from './outbox.ts';
import type { Pausable } from './store-pressure.ts';
import { TokenBucket } from './token-bucket.ts';

/** The pod's registry of sessions (connections.ts): told once when a session closed. */
export interface ClientRegistry {
  /** The session closed: drop it; `leaving` settles when its lease is released (the drain waits for it). */
  forget(session: Session, leaving: Promise<void> | null): void;
}

/** What every session of a pod shares: the pod's services and the registry it belongs to. */
export interface SessionContext extends ClientServices {
  readonly registry: ClientRegistry;
}

type State = 'awaiting' | 'joining' | 'joined' | 'closed';

/** Rate-limit cost: one token per frame, plus one per started 4 KiB (parsing costs by size). */
const BYTES_PER_TOKEN = 4096;
/**
 * Messages kept while a join is in flight, beyond one set per variable the room may hold (a
 * project sets its variables at start); more are dropped and counted.
 */
const HELD_BEYOND_VARIABLES = 64;

/** One clock for every TokenBucket instead of a bound function each. */
const clock = (): number => performance.now();

/**
 * Why the socket is not read, one bit each. Each resumes on its own schedule (the join ends,
 * the flood debt is paid, the store catches up); the socket is read again only when none is
 * left, so one resuming never undoes another.
 */
const PAUSED_FOR_JOIN = 1;
const PAUSED_FOR_FLOOD = 2;
const PAUSED_FOR_STORE = 4;

function byteLength(data: unknown): number {
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer) return data.byteLength;
  if (Array.isArray(data)) return data.reduce((sum: number, part: Buffer) => sum + part.byteLength, 0);
  return 0;
}

/**
 * The session of each socket, for listeners shared by every socket: a closure per listener
 * and their context would cost about 200 bytes of every idle client.
 */
const sessions = new WeakMap<WebSocket, Session>();

export class Session implements Pausable {
  private state: State = 'awaiting';
  private speaks: Dialect | null = null;
  private treatment: ClientPolicy | null = null;
  /** The client's view of its room, once joined. */
  private view: MemberView | null = null;
  /** Its changes to the room: made at its first message once joined (an idle client keeps none). */
  private writes: MemberWrites | null = null;
  /** Settles when the join (and any give-back it does) is over. */
  private joining: Promise<void> | null = null;
  /** What the client sent while its join was in flight, until the join ends. */
  private held: HeldMessages | null = null;
  private readonly client: ClientSocket;
  private readonly outbox: Outbox;
  /**
   * Made at the handshake, by the dialect: 2020 clients, the frame rate, closed beyond it
   * (4004); today's clients, FLOOD_BURST frames at once, then paced to FLOOD_LIMIT_PER_SECOND
   * (never closed). The handshake frame passes whatever it costs (a full bucket takes any frame).
   */
  private bucket: TokenBucket | null = null;
  /** PAUSED_FOR_* bits: why the socket is not read now (0: it is read). */
  private pausedFor = 0;
  /** Reading was paused at some time since the last ping round: its pong may wait unread. */
  private pausedSincePing = false;
  /** Resumes reading once the flood debt is paid; null while not paced. */
  private floodTimer: NodeJS.Timeout | null = null;
  /** Null once cleared: a kept Timeout would hold its closure for the connection's life. */
  private handshakeTimer: NodeJS.Timeout | null;
  private readonly openedAt = Date.now();
  /**
   * The payload of our last ping while its pong has not come back. Only a pong carrying it
   * counts: a client that stopped reading cannot see the payload, so unsolicited pongs keep
   * nothing alive. A client that misses one ping round is dropped.
   */
  private pongDue: Buffer | null = null;

  constructor(
    id: string,
    private readonly socket: WebSocket,
    address: string,
    private readonly context: SessionContext,
    /** The upgrade's headers the handshake hook is told; null when there is no hook. */
    private readonly visitor: Visitor | null = null,
  ) {
    this.client = new ClientSocket(id, socket, address, context.metrics, context.log);
    this.outbox = new Outbox(socket, context.scheduler, this.client);
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      if (this.state === 'awaiting') this.client.closeForMisbehaviour(CloseCode.Generic, 'handshake-timeout');
    }, context.config.handshakeTimeoutMs);
    sessions.set(socket, this);
    socket.on('message', Session.onSocketMessage);
    socket.on('pong', Session.onSocketPong);
    socket.on('close', Session.onSocketClose);
    // Socket errors (a frame too big, invalid UTF-8, a reset) are counted and logged at debug
    // by the socket plugin, then ws closes: onClose follows.
  }

  private static onSocketMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    sessions.get(this)?.onMessage(data, isBinary);
  }

  private static onSocketPong(this: WebSocket, data: Buffer): void {
    const session = sessions.get(this);
    if (session !== undefined && session.pongDue !== null && data.equals(session.pongDue)) session.pongDue = null;
  }

  private static onSocketClose(this: WebSocket, code: number): void {
    sessions.get(this)?.onClose(code);
  }

  /** The flood timer, one function for every session. */
  private static onFloodPaid(session: Session): void {
    session.floodTimer = null;
    if (session.state === 'closed' || session.bucket === null) return;
    // Frames read after the pause (the rest of a TCP read) added to the debt.
    const waitMs = session.bucket.charge(0);
    if (waitMs > 0) session.floodTimer = setTimeout(Session.onFloodPaid, waitMs, session);
    else session.resumeFrom(PAUSED_FOR_FLOOD);
  }

  get id(): string {
    return this.client.id;
  }

  /** The address as limits count it. */
  get address(): string {
    return this.client.address;
  }

  /** This connection's lease while joined, for the pod's renewal round. */
  get lease(): Lease | null {
    return this.state === 'joined' && this.view !== null ? this.view.lease : null;
  }

  private onMessage(data: unknown, isBinary: boolean): void {
    // Once a close has begun, later frames change nothing (and must not be counted twice).
    if (this.state === 'closed' || !this.client.isOpen) return;
    this.context.metrics.messagesIn.inc();
    const cost = 1 + Math.floor(byteLength(data) / BYTES_PER_TOKEN);
    if (this.bucket === null) {
      // The handshake frame: its dialect chooses the bucket (onHandshakeFrame).
    } else if (this.treatment?.setsWaitOverRate === true) {
      this.pace(cost);
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
    switch (this.state) {
      case 'awaiting':
        this.onHandshakeFrame(text, cost);
        break;
      case 'joining':
        this.hold(text);
        break;
      case 'joined':
        this.onFrame(text);
        if (this.context.pressure.high && this.client.isOpen) this.context.pressure.hold(this);
        break;
    }
  }

  private onHandshakeFrame(text: string, cost: number): void {
    const { config, protocolLimits } = this.context;
    const parsed = parseHandshakeFrame(text, protocolLimits);
    if (!parsed.ok) {
      this.client.closeForMisbehaviour(parsed.error.code, parsed.error.reason);
      return;
    }
    const dialect = (this.speaks = parsed.value.dialect);
    const policy = (this.treatment = policyFor(dialect, config));
    if (policy.setsWaitOverRate) {
      // Its sets wait for the set rate in its writes; its frames are only paced (from the next one).
      this.bucket = new TokenBucket(config.floodLimitPerSecond, config.floodBurst, clock);
    } else {
      this.bucket = new TokenBucket(config.rateLimitPerSecond, config.rateLimitBurst, clock);
      this.bucket.take(cost); // the handshake frame counts toward the frame rate
    }
    const { handshake, rest } = parsed.value;
    const declared = handshake.variables === null ? null : new Set(handshake.variables.map(([name]) => name));
    const held = (this.held = new HeldMessages(dialect, protocolLimits, declared, config.maxVariables + HELD_BEYOND_VARIABLES));
    this.clearHandshakeTimer();
    this.state = 'joining';
    // A scratch first frame may carry sets after the handshake: they wait for the join.
    if (rest !== '') this.hold(rest);
    // Read nothing more until the client is in the room (TCP pushes back on a flood).
    this.pauseFor(PAUSED_FOR_JOIN);
    const joiner = { client: this.client, outbox: this.outbox, dialect, policy, held, visitor: this.visitor };
    this.joining = join(this.context, joiner, handshake)
      .then((view) => (view === null ? undefined : this.joined(view)))
      .catch((error: unknown) => {
        this.client.log('error', { err: error, code: 'CV_ERR_JOIN_HANDLING' }, 'handling a join failed');
        this.client.close(CloseCode.InternalError, 'join-failed');
      });
  }

  /** The store admitted the client and its view started: apply what it sent meanwhile, then read it again. */
  private async joined(view: MemberView): Promise<void> {
    this.view = view;
    this.client.room = view.room.name;
    // A close already done (onClose ran while the join did) leaves below; one under way
    // ends in onClose, which leaves because the session is joined by then.
    const closedMeanwhile = this.state === 'closed';
    if (!closedMeanwhile) {
      this.state = 'joined';
      // A joined session's close leaves through its view: the settled promise is not needed.
      this.joining = null;
    }
    // What it sent before any close still counts: applied in order, like a joined client's.
    const held = this.held?.take() ?? [];
    this.held = null;
    if (held.length > 0) {
      const writes = this.writer(view);
      for (const message of held) writes.apply(message);
    }
    if (closedMeanwhile) {
      // As for any client that closed: sets still waiting for the rate are not stored.
      this.writes?.stop();
      await this.leave();
      return;
    }
    // A close under way (the socket is resumed to read the client's answer) stays as it is.
    if (!this.client.isOpen) return;
    if (this.context.pressure.high) this.context.pressure.hold(this);
    this.resumeFrom(PAUSED_FOR_JOIN);
  }

  private writer(view: MemberView): MemberWrites {
    return (this.writes ??= new MemberWrites(view, this.context));
  }

  /** Pausable: the store lags (store-pressure.ts); TCP pushes back on the client meanwhile. */
  pauseReading(): void {
    this.pauseFor(PAUSED_FOR_STORE);
  }

  /** Pausable. */
  resumeReading(): void {
    this.resumeFrom(PAUSED_FOR_STORE);
  }

  private pauseFor(reason: number): void {
    if (this.pausedFor === 0) this.socket.pause();
    this.pausedFor |= reason;
    this.pausedSincePing = true;
  }

  private resumeFrom(reason: number): void {
    if ((this.pausedFor & reason) === 0) return;
    this.pausedFor &= ~reason;
    // Closing too: the client's close frame waits behind what was not read (ws ignores a closed socket).
    if (this.pausedFor === 0) this.socket.resume();
  }

  /**
   * Flood pacing of today's clients, which stop for good on some codes and are not slowed
   * by any: the frame was read and counts; once the burst is spent, the socket is not read
   * until the debt is paid at FLOOD_LIMIT_PER_SECOND. TCP pushes back on this client alone,
   * and what it sends later is read later, not lost (its sets per variable are coalesced
   * while they wait for the set rate).
   */
  private pace(cost: number): void {
    if (this.bucket === null) return;
    const waitMs = this.bucket.charge(cost);
    if (waitMs === 0 || this.floodTimer !== null) return;
    this.context.metrics.floodPauses.inc();
    this.pauseFor(PAUSED_FOR_FLOOD);
    this.floodTimer = setTimeout(Session.onFloodPaid, waitMs, this);
  }

  /** A frame while the join is in flight: read now, its messages wait (held-messages.ts). */
  private hold(text: string): void {
    const held = this.held;
    if (held === null) return;
    const dropped = held.droppedCount;
    const refusal = held.hold(text);
    if (held.droppedCount > dropped) this.context.metrics.changesIgnored.inc({ reason: 'held-overflow' }, held.droppedCount - dropped);
    if (refusal !== null) this.client.closeForMisbehaviour(refusal.code, refusal.reason);
  }

  /** A frame of the joined client: every message in it goes to its writes, in order, until one fails. */
  private onFrame(text: string): void {
    if (this.speaks === null || this.view === null) return;
    const error = parseFrame(text, this.speaks, this.context.protocolLimits, this.writer(this.view));
    if (error !== null) this.client.closeForMisbehaviour(error.code, error.reason);
  }

  /** Ping round (`payload` is the round's, shared by every session): drop a client that did not answer the previous ping. */
  ping(payload: Buffer): void {
    if (!this.client.isOpen) return;
    const pausedByUs = this.pausedFor !== 0 || this.pausedSincePing;
    this.pausedSincePing = this.pausedFor !== 0;
    if (this.pongDue !== null) {
      // Not read for a while by our choice (join, flood, store): its pong may wait unread.
      if (pausedByUs) return;
      this.client.log('info', { room: this.client.room }, 'no pong to the previous ping: dropping');
      this.socket.terminate();
      return;
    }
    this.pongDue = payload;
    this.socket.ping(payload);
  }

  /** The pod's sweep: see Outbox.checkBacklog. Returns the bytes this client has not read yet. */
  checkBacklog(now: number): number {
    return this.state === 'closed' ? 0 : this.outbox.checkBacklog(now);
  }

  /** Bytes written to this client that it has not read yet. */
  get unsentBytes(): number {
    return this.socket.bufferedAmount;
  }

  /** The pod's unsent data is over SEND_BUFFER_POD_LIMIT_BYTES and this client holds among the most (PodSendBudget). */
  dropForPodLimit(): void {
    if (this.state !== 'closed') this.client.closeForMisbehaviour(CloseCode.SlowConsumer, 'pod-send-buffer-full');
  }

  /** Closes for a reason that is not the client's fault (a lost lease: 1012). */
  close(code: number, reason: string): void {
    this.client.close(code, reason);
  }

  /** Writes what is pending now, then closes with `code` (drain: 1012). */
  flushAndClose(code: number, reason: string): void {
    this.outbox.flush();
    this.client.close(code, reason);
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer === null) return;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private onClose(code: number): void {
    if (this.state === 'closed') return;
    const previous = this.state;
    this.state = 'closed';
    this.clearHandshakeTimer();
    if (this.floodTimer !== null) clearTimeout(this.floodTimer);
    this.floodTimer = null;
    this.context.pressure.forget(this);
    this.context.metrics.closes.inc({ code: closeCodeLabel(code) });
    this.client.log('info', { room: this.client.room, code, durationMs: Date.now() - this.openedAt }, 'connection closed');
    this.writes?.stop();
    this.context.registry.forget(this, previous === 'joined' ? this.leave() : this.joining);
  }

  /** Gives back the joined client's place: the pod's room reference and the store's lease. */
  private leave(): Promise<void> | null {
    const view = this.view;
    if (view === null) return null;
    this.context.hub.release(view.room, view);
    return this.context.engine.store.leave(view.lease).catch((error: unknown) => {
      this.client.log('error', { err: error, room: view.room.name }, 'leave failed; the lease will lapse');
    });
  }
}
