/**
 * One client connection, as a state machine: awaiting handshake -> joining -> joined ->
 * closed. It reads the socket: each frame is charged to the rate or flood limit, then the
 * handshake goes to the join (join.ts), the frames sent during the join are held
 * (held-messages.ts), and a joined client's frames are parsed straight into its writes
 * (member-writes.ts). When the socket is read (join, flood, store pressure) and the ping
 * round's answer are its base's (socket-reading.ts). At the close, the registry forgets it
 * and its lease is given back. Everything it starts writes to the client's socket end
 * (client-socket.ts), never back here.
 */
import { CloseCode, parseFrame, type Dialect, type ProtocolLimits } from '@cloudvars/protocol';
import type { Lease } from '@cloudvars/rooms';
import type { WebSocket } from 'ws';
import type { Visitor } from '../hook/handshake-hook.ts';
import { closeCodeLabel } from '../metrics.ts';
import { parseHandshakeForRoom, roomProtocolLimits } from '../policy/room-limits.ts';
import { policyFor, type ClientPolicy } from './client-policy.ts';
import type { ClientServices } from './client-services.ts';
import { ClientSocket } from './client-socket.ts';
import { HeldMessages } from './held-messages.ts';
import { join } from './join.ts';
import type { MemberView } from './member-view.ts';
import { Outbox } from './outbox.ts';
import { SocketReading } from './socket-reading.ts';
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

export class Session extends SocketReading {
  private state: State = 'awaiting';
  private speaks: Dialect | null = null;
  private treatment: ClientPolicy | null = null;
  /** The client's view of its room, once joined. */
  private view: MemberView | null = null;
  /** Settles when the join (and any give-back it does) is over. */
  private joining: Promise<void> | null = null;
  /** What the client sent while its join was in flight, until the join ends. */
  private held: HeldMessages | null = null;
  private readonly outbox: Outbox;
  /** Null once cleared: a kept Timeout would hold its closure for the connection's life. */
  private handshakeTimer: NodeJS.Timeout | null;
  private readonly openedAt = Date.now();

  constructor(
    id: string,
    socket: WebSocket,
    address: string,
    private readonly context: SessionContext,
    /** The upgrade's headers the handshake hook is told; null when there is no hook. */
    private readonly visitor: Visitor | null = null,
  ) {
    super(new ClientSocket(id, socket, address, context.metrics, context.log));
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
    sessions.get(this)?.ponged(data);
  }

  private static onSocketClose(this: WebSocket, code: number): void {
    sessions.get(this)?.onClose(code);
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
      this.pace(cost, this.context.metrics.floodPauses);
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
    const { config, protocolLimits, policies } = this.context;
    // By the limits of the room it names (its policy's, else the global ones).
    const parsed = parseHandshakeForRoom(text, protocolLimits, policies);
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
    const limits = this.limitsOf(handshake.room);
    const held = (this.held = new HeldMessages(dialect, limits, declared, limits.maxVariables + HELD_BEYOND_VARIABLES));
    this.clearHandshakeTimer();
    this.state = 'joining';
    // A scratch first frame may carry sets after the handshake: they wait for the join.
    if (rest !== '') this.hold(rest);
    this.pauseForJoin();
    const frameRate = policy.setsWaitOverRate ? null : this.bucket;
    const joiner = { client: this.client, outbox: this.outbox, dialect, policy, frameRate, held, visitor: this.visitor };
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
      const writes = view.writer();
      for (const message of held) writes.apply(message);
    }
    if (closedMeanwhile) {
      // As for any client that closed: sets still waiting for the rate are not stored.
      view.stop();
      await this.leave();
      return;
    }
    // A close under way (the socket is resumed to read the client's answer) stays as it is.
    if (!this.client.isOpen) return;
    if (this.context.pressure.high) this.context.pressure.hold(this);
    this.resumeAfterJoin();
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
    const error = parseFrame(text, this.speaks, this.limitsOf(this.view.room.name), this.view.writer());
    if (error !== null) this.client.closeForMisbehaviour(error.code, error.reason);
  }

  /** What the room's values may be, as its policy is now (policy/room-limits.ts): the global limits for a room without one. */
  private limitsOf(room: string): ProtocolLimits {
    return roomProtocolLimits(this.context.protocolLimits, this.context.policies.get(room));
  }

  /** The pod's sweep: see Outbox.checkBacklog. Returns the bytes this client has not read yet. */
  checkBacklog(now: number): number {
    return this.state === 'closed' ? 0 : this.outbox.checkBacklog(now);
  }

  /** Bytes written to this client that it has not read yet. */
  get unsentBytes(): number {
    return this.client.socket.bufferedAmount;
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
    this.stopReading();
    this.context.pressure.forget(this);
    this.context.metrics.closes.inc({ code: closeCodeLabel(code) });
    this.client.log('info', { room: this.client.room, code, durationMs: Date.now() - this.openedAt }, 'connection closed');
    this.view?.stop();
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
