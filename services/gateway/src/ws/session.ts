/**
 * One client connection, as a state machine: awaiting handshake -> joining -> joined ->
 * closed. Its base (client-reading.ts) reads the socket and charges each frame to the rate
 * or flood limit; the frames before the join are the session's: the handshake goes to the
 * join (join.ts), the frames sent during the join are held (held-messages.ts). Once joined,
 * the base parses the client's frames straight into its writes (member-writes.ts) without
 * entering the session. At the close, the registry forgets it and its lease is given back.
 * Everything it starts writes to the client's socket end (client-socket.ts), never back here.
 */
import { CloseCode } from '@cloudvars/protocol';
import type { Lease } from '@cloudvars/rooms';
import type { WebSocket } from 'ws';
import type { Visitor } from '../hook/handshake-hook.ts';
import { closeCodeLabel } from '../metrics.ts';
import { parseHandshakeForRoom, roomProtocolLimits } from '../policy/room-limits.ts';
import { policyFor } from './client-policy.ts';
import type { ClientServices } from './client-services.ts';
import { ClientReading } from './client-reading.ts';
import { ClientSocket } from './client-socket.ts';
import { HeldMessages } from './held-messages.ts';
import { join } from './join.ts';
import type { MemberView } from './member-view.ts';
import { Outbox } from './outbox.ts';
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

/**
 * Messages kept while a join is in flight, beyond one set per variable the room may hold (a
 * project sets its variables at start); more are dropped and counted.
 */
const HELD_BEYOND_VARIABLES = 64;

export class Session extends ClientReading<SessionContext, MemberView> {
  private state: State = 'awaiting';
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
    context: SessionContext,
    /** The upgrade's headers the handshake hook is told; null when there is no hook. */
    private readonly visitor: Visitor | null = null,
  ) {
    super(new ClientSocket(id, socket, address, context.metrics, context.log), context);
    this.outbox = new Outbox(socket, context.scheduler, this.client);
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      if (this.state === 'awaiting') this.client.closeForMisbehaviour(CloseCode.Generic, 'handshake-timeout');
    }, context.config.handshakeTimeoutMs);
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

  /** A frame before the join (ClientReading): the handshake, or one sent while the join is in flight. */
  protected beforeJoin(text: string, cost: number): void {
    if (this.state === 'awaiting') this.onHandshakeFrame(text, cost);
    else if (this.state === 'joining') this.hold(text);
  }

  private onHandshakeFrame(text: string, cost: number): void {
    const { config, protocolLimits, policies } = this.context;
    // By the limits of the room it names (its policy's, else the global ones).
    const parsed = parseHandshakeForRoom(text, protocolLimits, policies);
    if (!parsed.ok) {
      this.client.closeForMisbehaviour(parsed.error.code, parsed.error.reason);
      return;
    }
    const dialect = (this.dialect = parsed.value.dialect);
    const policy = policyFor(dialect, config);
    this.paced = policy.setsWaitOverRate;
    if (policy.setsWaitOverRate) {
      // Its sets wait for the set rate in its writes; its frames are only paced (from the next one).
      this.bucket = new TokenBucket(config.floodLimitPerSecond, config.floodBurst);
    } else {
      this.bucket = new TokenBucket(config.rateLimitPerSecond, config.rateLimitBurst);
      this.bucket.take(cost); // the handshake frame counts toward the frame rate
    }
    const { handshake, rest } = parsed.value;
    const declared = handshake.variables === null ? null : new Set(handshake.variables.map(([name]) => name));
    // The room's limits as its policy is now (the global ones for a room without one).
    const limits = roomProtocolLimits(protocolLimits, policies.get(handshake.room));
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

  protected onClose(code: number): void {
    if (this.state === 'closed') return;
    const previous = this.state;
    this.state = 'closed';
    this.clearHandshakeTimer();
    this.stopReading();
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
