/**
 * One client connection, as a state machine: awaiting handshake -> joining -> joined ->
 * closed. It reads frames, charges them to the rate limit, parses them in the connection's
 * dialect and hands each message on: the handshake to the join (join.ts), sets to the
 * room membership (membership.ts). Closing, from either side, ends in `onClose`.
 */
import {
  CloseCode,
  parseFrame,
  parseHandshakeFrame,
  type ClientMessage,
  type Dialect,
  type Handshake,
  type MessageSink,
  type ProtocolError,
} from '@cloudvars/protocol';
import type { JoinRefusal, Lease } from '@cloudvars/rooms';
import { WebSocket } from 'ws';
import { closeCodeLabel } from '../metrics.ts';
import type { Visitor } from '../hook/handshake-hook.ts';
import { blockingPolicy } from '../policy/enforce.ts';
import { CLOSE_GRACE_MS, closeSocket } from '../sockets/close-socket.ts';
import { policyFor, type ClientPolicy } from './client-policy.ts';
import { HeldMessages } from './held-messages.ts';
import { joinRoom, type JoiningHost } from './join.ts';
import type { Membership } from './membership.ts';
import { Outbox, type OutboxOwner } from './outbox.ts';
import type { Pausable } from './store-pressure.ts';
import type { SessionContext } from './session-context.ts';
import { TokenBucket } from './token-bucket.ts';

type State = 'awaiting' | 'joining' | 'joined' | 'closed';

/**
 * What each refusal closes with (README "close codes": what today's clients then do).
 * Overloaded (4003) is the 2020 dialects' code: today's clients get 1013 instead (refusalCode).
 */
const REFUSAL_CODES: Record<JoinRefusal, number> = {
  // Like USERNAME_BLOCKLIST: the name is the problem; TurboWarp asks its user for another.
  'banned-username': CloseCode.Username,
  'blocked-username': CloseCode.Username,
  // The one code every client of today stops on: nothing it can change gets it in.
  'banned-address': CloseCode.ProjectUnavailable,
  'username-taken': CloseCode.Username,
  'room-full': CloseCode.Overloaded,
  'too-many-rooms': CloseCode.Overloaded,
  'address-limit': CloseCode.Overloaded,
  'variables-mismatch': CloseCode.Incompatibility,
  'room-creation-limit': CloseCode.Overloaded,
  // A 2020 handshake whose names the room cannot hold (MAX_ROOM_BYTES, MAX_VARIABLES): the spec's "room is full".
  'over-budget': CloseCode.Overloaded,
  'too-many-variables': CloseCode.Overloaded,
};

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

export class Session implements JoiningHost, OutboxOwner, MessageSink, Pausable {
  private state: State = 'awaiting';
  private speaks: Dialect | null = null;
  private treatment: ClientPolicy | null = null;
  private membership: Membership | null = null;
  /** Settles when the join (and any give-back it does) is over. */
  private joining: Promise<void> | null = null;
  /** What the client sent while its join was in flight, until the join ends. */
  private held: HeldMessages | null = null;
  readonly outbox: Outbox;
  /**
   * 2020 clients (and every first frame): the frame rate, closed beyond it (4004). Today's
   * clients: FLOOD_BURST frames at once, then paced to FLOOD_LIMIT_PER_SECOND (never closed).
   */
  private bucket: TokenBucket;
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
    readonly id: string,
    private readonly socket: WebSocket,
    readonly address: string,
    private readonly context: SessionContext,
    /** The upgrade's headers the handshake hook is told; null when there is no hook. */
    private readonly visitor: Visitor | null = null,
  ) {
    this.outbox = new Outbox(socket, context.scheduler, this);
    this.bucket = new TokenBucket(context.config.rateLimitPerSecond, context.config.rateLimitBurst, clock);
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      if (this.state === 'awaiting') this.closeForMisbehaviour(CloseCode.Generic, 'handshake-timeout');
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
    if (session.state === 'closed') return;
    // Frames read after the pause (the rest of a TCP read) added to the debt.
    const waitMs = session.bucket.charge(0);
    if (waitMs > 0) session.floodTimer = setTimeout(Session.onFloodPaid, waitMs, session);
    else session.resumeFrom(PAUSED_FOR_FLOOD);
  }

  /** The connection's dialect; only read once the handshake chose it. */
  get dialect(): Dialect {
    if (this.speaks === null) throw new Error('the dialect is read before the handshake chose it');
    return this.speaks;
  }

  /** How this connection's clients are treated; only read once the handshake chose the dialect. */
  get policy(): ClientPolicy {
    if (this.treatment === null) throw new Error('the client policy is read before the handshake chose it');
    return this.treatment;
  }

  /**
   * True while the join may go on: no close has started from either side, or the client
   * sent messages before the close that still count (they are applied, then it leaves).
   */
  get stillJoining(): boolean {
    if (this.state !== 'joining' && this.state !== 'closed') return false;
    if ((this.held?.size ?? 0) > 0) return true;
    return this.state === 'joining' && this.socket.readyState === WebSocket.OPEN;
  }

  /** This connection's lease while joined, for the pod's renewal round. */
  get lease(): Lease | null {
    return this.state === 'joined' && this.membership !== null ? this.membership.lease : null;
  }

  /**
   * Every line this session logs carries `conn`. Logged through the shared logger with the
   * field rather than a child logger per session: the same output, without a Pino instance
   * per idle connection.
   */
  log(level: 'info' | 'warn' | 'error', fields: object, message: string): void {
    this.context.log[level]({ conn: this.id, ...fields }, message);
  }

  /** OutboxOwner: the client does not read what we send. */
  onSlowConsumer(): void {
    this.closeForMisbehaviour(CloseCode.SlowConsumer, 'slow-consumer');
  }

  /** OutboxOwner. */
  onFrameSent(messages: number): void {
    this.context.metrics.messagesOut.inc(messages);
    this.context.metrics.framesOut.inc();
  }

  private onMessage(data: unknown, isBinary: boolean): void {
    // Once a close has begun, later frames change nothing (and must not be counted twice).
    if (this.state === 'closed' || this.socket.readyState !== WebSocket.OPEN) return;
    this.context.metrics.messagesIn.inc();
    const cost = 1 + Math.floor(byteLength(data) / BYTES_PER_TOKEN);
    if (this.treatment?.setsWaitOverRate === true) {
      this.pace(cost);
    } else if (!this.bucket.take(cost)) {
      // 2020 clients (PROTOCOL.md): 4004, try again later.
      this.closeForMisbehaviour(CloseCode.TryAgainLater, 'rate-limit');
      return;
    }
    if (isBinary) {
      this.closeForMisbehaviour(CloseCode.Generic, 'binary-frame');
      return;
    }
    const text = String(data);
    switch (this.state) {
      case 'awaiting':
        this.onHandshakeFrame(text);
        break;
      case 'joining':
        this.hold(text);
        break;
      case 'joined':
        this.onFrame(text);
        if (this.context.pressure.high && this.isActive) this.context.pressure.hold(this);
        break;
    }
  }

  private onHandshakeFrame(text: string): void {
    const parsed = parseHandshakeFrame(text, this.context.protocolLimits);
    if (!parsed.ok) {
      this.refuse(parsed.error);
      return;
    }
    this.speaks = parsed.value.dialect;
    this.treatment = policyFor(this.speaks, this.context.config);
    if (this.treatment.setsWaitOverRate) {
      // Its sets wait for the set rate in the membership; its frames are only paced.
      const { floodLimitPerSecond, floodBurst } = this.context.config;
      this.bucket = new TokenBucket(floodLimitPerSecond, floodBurst, clock);
    }
    const { handshake, rest } = parsed.value;
    const declared = handshake.variables === null ? null : new Set(handshake.variables.map(([name]) => name));
    this.held = new HeldMessages(this.speaks, this.context.protocolLimits, declared, this.context.config.maxVariables + HELD_BEYOND_VARIABLES);
    this.clearHandshakeTimer();
    this.state = 'joining';
    // A scratch first frame may carry sets after the handshake: they wait for the join.
    if (rest !== '') this.hold(rest);
    // Read nothing more until the client is in the room (TCP pushes back on a flood).
    this.pauseFor(PAUSED_FOR_JOIN);
    this.joining = this.join(handshake).catch((error: unknown) => {
      this.log('error', { err: error, code: 'CV_ERR_JOIN_HANDLING' }, 'handling a join failed');
      this.close(CloseCode.InternalError, 'join-failed');
    });
  }

  private async join(asked: Handshake): Promise<void> {
    const room = asked.room;
    // Checked right before the join enters the room: a block made later closes it there (policy/enforce.ts).
    const block = await blockingPolicy(this.context.policies, room);
    if (block !== null) {
      this.context.metrics.joins.inc({ outcome: 'project-blocked' });
      this.log('info', { room, code: CloseCode.ProjectUnavailable, reason: 'project-blocked', policyReason: block.reason ?? '' }, 'refusing join: project blocked');
      this.close(CloseCode.ProjectUnavailable, 'project-blocked');
      return;
    }
    const handshake = await this.askHook(asked);
    if (handshake === null) return;
    const attempt = await joinRoom(this.context, this, handshake);
    switch (attempt.kind) {
      case 'refused':
        this.context.metrics.joins.inc({ outcome: attempt.reason });
        this.closeForMisbehaviour(this.refusalCode(attempt.reason), attempt.reason);
        return;
      case 'failed':
        this.context.metrics.joins.inc({ outcome: 'failed' });
        this.log('error', { err: attempt.error, room }, 'join failed');
        this.close(CloseCode.InternalError, 'join-failed');
        return;
      case 'abandoned':
        return;
      case 'joined':
        break;
    }
    this.membership = attempt.membership;
    this.context.metrics.joins.inc({ outcome: attempt.outcome });
    const { username } = handshake;
    this.log('info', { room, username, dialect: this.dialect.name, outcome: attempt.outcome, seq: attempt.snapshot.seq }, 'joined');
    // A close already done (onClose ran while the join did) leaves below; one under way
    // ends in onClose, which leaves because the session is joined by then.
    const closedMeanwhile = this.state === 'closed';
    if (!closedMeanwhile) {
      this.state = 'joined';
      // A joined session's close leaves through its membership: the settled promise is not needed.
      this.joining = null;
    }
    // What it sent before any close still counts: applied in order, like a joined client's.
    const held = this.held?.take() ?? [];
    this.held = null;
    for (const message of held) this.apply(message, this.membership);
    if (closedMeanwhile) {
      // As for any client that closed: sets still waiting for the rate are not stored.
      this.membership.stop();
      await this.leave();
      return;
    }
    // A close under way (the socket is resumed to read the client's answer) stays as it is.
    if (!this.isActive) return;
    if (this.context.pressure.high) this.context.pressure.hold(this);
    this.resumeFrom(PAUSED_FOR_JOIN);
  }

  /**
   * The handshake hook's verdict (hook/handshake-hook.ts): the handshake to join with (the
   * user possibly renamed), or null when the client was refused or left meanwhile. The hook's
   * 4002 and 4004 mean in every dialect what the server's own do (docs/PROTOCOL.md): a name
   * to change, a project the client may not use.
   */
  private async askHook(handshake: Handshake): Promise<Handshake | null> {
    const hook = this.context.hook;
    if (hook === null) return handshake;
    const request = hook.request(
      { project: handshake.room, user: handshake.username, dialect: this.dialect.name, userAgent: this.visitor?.userAgent ?? '', origin: this.visitor?.origin ?? '' },
      this.address,
    );
    const verdict = await hook.decide(request, this.dialect);
    if (!this.stillJoining) return null;
    if (!verdict.admit) {
      this.context.metrics.joins.inc({ outcome: verdict.reason });
      this.log('info', { room: handshake.room, username: handshake.username, code: verdict.code, reason: verdict.reason, hookReason: verdict.hookReason }, 'refusing join: handshake hook');
      this.close(verdict.code, verdict.reason);
      return null;
    }
    if (verdict.user === handshake.username) return handshake;
    this.log('info', { room: handshake.room, username: handshake.username, renamedTo: verdict.user }, 'handshake hook renamed the user');
    return { ...handshake, username: verdict.user };
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
    if (refusal !== null) this.closeForMisbehaviour(refusal.code, refusal.reason);
  }

  /** A frame of the joined client: every message in it, in order, until one fails. */
  private onFrame(text: string): void {
    const error = parseFrame(text, this.dialect, this.context.protocolLimits, this);
    if (error !== null) this.refuse(error);
  }

  /** MessageSink: one message of a frame. False stops reading the frame (the session is closing). */
  onClientMessage(message: ClientMessage): boolean {
    if (!this.isActive || this.membership === null) return false;
    this.apply(message, this.membership);
    return this.isActive;
  }

  /** One message of the joined client (or one it sent during its join). */
  private apply(message: ClientMessage, membership: Membership): void {
    switch (message.kind) {
      case 'handshake':
        this.closeForMisbehaviour(CloseCode.Generic, 'second-handshake');
        break;
      case 'set':
        membership.set(message);
        break;
      case 'rename':
        membership.rename(message);
        break;
      case 'delete':
        membership.delete(message);
        break;
    }
  }

  /** Joined, and no close has started: its messages still count. */
  private get isActive(): boolean {
    return this.state === 'joined' && this.socket.readyState === WebSocket.OPEN;
  }

  /** Ping round (`payload` is the round's, shared by every session): drop a client that did not answer the previous ping. */
  ping(payload: Buffer): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const pausedByUs = this.pausedFor !== 0 || this.pausedSincePing;
    this.pausedSincePing = this.pausedFor !== 0;
    if (this.pongDue !== null) {
      // Not read for a while by our choice (join, flood, store): its pong may wait unread.
      if (pausedByUs) return;
      this.log('info', { room: this.membership?.room.name }, 'no pong to the previous ping: dropping');
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
    this.closeForMisbehaviour(CloseCode.SlowConsumer, 'pod-send-buffer-full');
  }

  /** Writes what is pending now, then closes with `code` (drain: 1012). */
  flushAndClose(code: number, reason: string): void {
    this.outbox.flush();
    this.close(code, reason);
  }

  /** A transient refusal closes with the dialect's "try again later" (ClientPolicy.retryLaterCode). */
  private refusalCode(reason: JoinRefusal): number {
    const code = REFUSAL_CODES[reason];
    return code === CloseCode.Overloaded ? this.policy.retryLaterCode : code;
  }

  private refuse(error: ProtocolError): void {
    this.closeForMisbehaviour(error.code, error.reason);
  }

  closeForMisbehaviour(code: number, reason: string): void {
    // A close under way was counted and logged when it started (the pod's sweep may ask again).
    if (this.state === 'closed' || this.socket.readyState !== WebSocket.OPEN) return;
    this.context.metrics.protocolErrors.inc({ reason });
    this.log('info', { room: this.membership?.room.name, code, reason }, 'closing connection');
    this.close(code, reason);
  }

  close(code: number, reason: string): void {
    closeSocket(this.socket, code, reason, CLOSE_GRACE_MS);
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
    this.log('info', { room: this.membership?.room.name, code, durationMs: Date.now() - this.openedAt }, 'connection closed');
    this.membership?.stop();
    this.context.forget(this, previous === 'joined' ? this.leave() : this.joining);
  }

  /** Gives back the joined client's place: the pod's room reference and the store's lease. */
  private leave(): Promise<void> | null {
    const membership = this.membership;
    if (membership === null) return null;
    this.context.hub.release(membership.room, membership);
    return this.context.engine.store.leave(membership.lease).catch((error: unknown) => {
      this.log('error', { err: error, room: membership.room.name }, 'leave failed; the lease will lapse');
    });
  }
}
