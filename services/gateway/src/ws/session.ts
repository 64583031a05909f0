/**
 * One client connection: awaiting handshake -> joining -> joined -> closed.
 *
 * Which events a joined client is shown follows the convergence rule in own-writes.ts.
 */
import {
  CloseCode,
  parseFrame,
  parseHandshakeFrame,
  type Dialect,
  type Handshake,
  type ProtocolError,
  type SetRequest,
} from '@cloudvars/protocol';
import type { JoinRefusal, Lease, RoomSnapshot } from '@cloudvars/rooms';
import type { WebSocket } from 'ws';
import { closeCodeLabel } from '../metrics.ts';
import { Outbox } from './outbox.ts';
import { OwnWrites } from './own-writes.ts';
import type { EventText } from './event-text.ts';
import type { LocalRoom, Resync, RoomMember } from './room-hub.ts';
import type { SessionContext } from './session-context.ts';
import { TokenBucket } from './token-bucket.ts';

type State = 'awaiting' | 'joining' | 'joined' | 'closed';

const REFUSAL_CODES: Record<JoinRefusal, number> = {
  'username-taken': CloseCode.Username,
  'room-full': CloseCode.Overloaded,
  'too-many-rooms': CloseCode.Overloaded,
  'address-limit': CloseCode.Overloaded,
  'variables-mismatch': CloseCode.Incompatibility,
};

const OPEN = 1;

/** Shared by every session until its join sets its own (one Set less per idle socket). */
const NO_VARIABLES: ReadonlySet<string> = new Set();
/** The variable names of each room's last join: see namesOf. */
const roomNames = new WeakMap<LocalRoom, ReadonlySet<string>>();

/**
 * The members of a room nearly always join with the same variable names, so they share one
 * Set (a 10-name Set is about 400 bytes per joined client); a client whose snapshot names
 * differ gets its own, which later joins then share. Never mutated: sessions replace it.
 */
function namesOf(room: LocalRoom, snapshot: RoomSnapshot): ReadonlySet<string> {
  const last = roomNames.get(room);
  if (last !== undefined && last.size === snapshot.variables.length && snapshot.variables.every(([name]) => last.has(name))) return last;
  const names = new Set(snapshot.variables.map(([name]) => name));
  roomNames.set(room, names);
  return names;
}

/** One clock for every TokenBucket instead of a bound function each. */
const clock = (): number => performance.now();

function byteLength(data: unknown): number {
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer) return data.byteLength;
  if (Array.isArray(data)) return data.reduce((sum: number, part: Buffer) => sum + part.byteLength, 0);
  return 0;
}
/** Server fault (the store failed): standard WebSocket "internal error"; clients retry. */
const INTERNAL_ERROR = 1011;
/**
 * Writes of one variable whose events have not come back. Beyond this the bus is not
 * delivering (a deaf subscription): resync the room rather than let the list grow.
 */
const MAX_WRITES_IN_FLIGHT = 64;
/** Rate-limit cost: one token per frame, plus one per started 4 KiB (parsing costs by size). */
const BYTES_PER_TOKEN = 4096;
/** Frames a client may send while its join is in flight; more is a flood (the bucket allows 30). */
const MAX_FRAMES_WHILE_JOINING = 64;

export class Session implements RoomMember {
  private state: State = 'awaiting';
  private dialect: Dialect | null = null;
  private room: LocalRoom | null = null;
  private username = '';
  private variableNames: ReadonlySet<string> = NO_VARIABLES;
  /** Events of the room are shown only when from `epoch` and after `floor` (the snapshot's seq). */
  private epoch = '';
  private floor = 0;
  private joinBuffer: EventText[] | null = null;
  private framesWhileJoining: string[] | null = null;
  private readonly writes = new OwnWrites();
  private readonly outbox: Outbox;
  private readonly bucket: TokenBucket;
  /** Null once cleared: a kept Timeout would hold its closure for the connection's life. */
  private handshakeTimer: NodeJS.Timeout | null;
  private readonly openedAt = Date.now();
  /** Cleared by each ping, set by each pong: a client that misses one ping is dropped. */
  alive = true;

  constructor(
    readonly id: string,
    private readonly socket: WebSocket,
    readonly address: string,
    private readonly context: SessionContext,
  ) {
    this.outbox = new Outbox(socket, context.scheduler, this);
    this.bucket = new TokenBucket(context.config.rateLimitPerSecond, context.config.rateLimitBurst, clock);
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      if (this.state === 'awaiting') this.closeForMisbehaviour(CloseCode.Generic, 'handshake-timeout');
    }, context.config.handshakeTimeoutMs);
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('close', (code) => this.onClose(code));
    // ws reports protocol faults (oversized frame: 1009, bad UTF-8: 1007) here, then closes.
    socket.on('error', (error) => this.logAt('info', { err: error.message, code: (error as { code?: string }).code }, 'socket error'));
  }

  /**
   * Every line this session logs carries `conn`. Logged through the shared logger with the
   * field rather than a child logger per session: the same output, without a Pino instance
   * per idle connection.
   */
  private logAt(level: 'info' | 'warn' | 'error', fields: object, message: string): void {
    this.context.log[level]({ conn: this.id, ...fields }, message);
  }

  /** OutboxOwner: the client does not read what we send. */
  onSlowConsumer(): void {
    this.closeForMisbehaviour(1008, 'slow-consumer');
  }

  /** OutboxOwner. */
  onFrameSent(messages: number): void {
    this.context.metrics.messagesOut.inc(messages);
    this.context.metrics.framesOut.inc();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer === null) return;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  get isJoined(): boolean {
    return this.state === 'joined';
  }

  /** This connection's lease while joined, for the pod's renewal round. */
  get lease(): Lease | null {
    return this.state === 'joined' && this.room ? this.leaseIn(this.room) : null;
  }

  private leaseIn(room: LocalRoom): Lease {
    return { room: room.name, connectionId: this.id, address: this.address };
  }

  private onMessage(data: unknown, isBinary: boolean): void {
    // Once a close has begun, later frames change nothing (and must not be counted twice).
    if (this.state === 'closed' || this.socket.readyState !== OPEN) return;
    this.context.metrics.messagesIn.inc();
    if (!this.bucket.take(1 + Math.floor(byteLength(data) / BYTES_PER_TOKEN))) {
      this.closeForMisbehaviour(CloseCode.TryAgainLater, 'rate-limit');
      return;
    }
    if (isBinary) {
      this.closeForMisbehaviour(CloseCode.Generic, 'binary-frame');
      return;
    }
    const text = String(data);
    if (this.state === 'awaiting') this.onHandshakeFrame(text);
    else if (this.state === 'joining') this.holdWhileJoining(text);
    else this.onFrame(text);
  }

  private onHandshakeFrame(text: string): void {
    const parsed = parseHandshakeFrame(text, this.context.protocolLimits);
    if (!parsed.ok) {
      this.refuse(parsed.error);
      return;
    }
    this.dialect = parsed.value.dialect;
    this.clearHandshakeTimer();
    this.join(parsed.value.handshake).catch((error: unknown) => {
      this.logAt('error', { err: error }, 'join failed');
      this.close(INTERNAL_ERROR, 'join-failed');
    });
  }

  private holdWhileJoining(text: string): void {
    const held = (this.framesWhileJoining ??= []);
    if (held.length >= MAX_FRAMES_WHILE_JOINING) {
      this.closeForMisbehaviour(CloseCode.TryAgainLater, 'flood-while-joining');
      return;
    }
    held.push(text);
  }

  /** True while the join may go on: no close has started from either side. */
  private get stillJoining(): boolean {
    return this.state === 'joining' && this.socket.readyState === OPEN;
  }

  private async join(handshake: Handshake): Promise<void> {
    this.state = 'joining';
    // Read nothing more until the client is in the room (TCP pushes back on a flood).
    this.socket.pause();
    this.username = handshake.username;
    this.joinBuffer = [];
    const room = this.context.hub.acquire(handshake.room, this);
    this.room = room;
    await room.subscribed; // gap-free join: subscribed before the snapshot is taken
    if (!this.stillJoining) return;
    const result = await this.context.engine.store.join({
      room: handshake.room,
      connectionId: this.id,
      username: handshake.username,
      variables: handshake.variables,
      address: this.address,
    });
    if (!result.ok) {
      this.context.metrics.joins.inc({ outcome: result.reason });
      this.closeForMisbehaviour(REFUSAL_CODES[result.reason], result.reason);
      return;
    }
    const { snapshot, outcome } = result;
    if (!this.stillJoining) {
      // The client left while the store was admitting it: give the slot back.
      await this.context.engine.store.leave(this.leaseIn(room));
      return;
    }
    this.context.metrics.joins.inc({ outcome });
    this.context.hub.joined(room, snapshot);
    this.variableNames = namesOf(room, snapshot);
    this.epoch = snapshot.epoch;
    this.floor = snapshot.seq;
    this.sendSnapshot(snapshot, outcome === 'created' ? new Set(handshake.replaced) : null);
    this.state = 'joined';
    this.logAt('info', { room: room.name, username: this.username, dialect: this.dialect?.name, outcome, seq: snapshot.seq }, 'joined');
    const buffered = this.joinBuffer ?? [];
    this.joinBuffer = null;
    for (const event of buffered) this.deliver(event);
    const held = this.framesWhileJoining ?? [];
    this.framesWhileJoining = null;
    for (const text of held) {
      if (this.state !== 'joined') break;
      this.onFrame(text);
    }
    this.socket.resume();
  }

  /** The whole room in one frame; for a room this client created, only its corrected values. */
  private sendSnapshot(snapshot: RoomSnapshot, onlyThese: ReadonlySet<string> | null): void {
    const dialect = this.dialect;
    if (dialect === null) return;
    const messages: string[] = [];
    for (const [name, value] of snapshot.variables) {
      if (onlyThese === null || onlyThese.has(name)) messages.push(dialect.encodeSet(name, value));
    }
    if (messages.length === 0) return;
    this.socket.send(messages.join('\n'));
    this.outbox.recordSnapshotSent(performance.now());
    this.onFrameSent(messages.length);
  }

  private onFrame(text: string): void {
    const dialect = this.dialect;
    if (dialect === null) return;
    const parsed = parseFrame(text, dialect, this.context.protocolLimits);
    if (!parsed.ok) {
      this.refuse(parsed.error);
      return;
    }
    const message = parsed.value;
    if (message.kind === 'handshake') {
      this.closeForMisbehaviour(CloseCode.Generic, 'second-handshake');
      return;
    }
    this.onSet(message);
  }

  private onSet(message: SetRequest): void {
    const room = this.room;
    if (room === null) return;
    if (!this.variableNames.has(message.variable)) {
      this.closeForMisbehaviour(CloseCode.Generic, 'unknown-variable');
      return;
    }
    if (!message.valid) return; // PROTOCOL.md: an invalid value is ignored silently
    const variable = message.variable;
    this.outbox.drop(variable); // anything queued for it was ordered before this write
    if (this.writes.started(variable, performance.now(), this.outbox.lastSent(variable)) === MAX_WRITES_IN_FLIGHT) {
      this.logAt('error', { room: room.name, variable, code: 'CV_ERR_EVENTS_NOT_RETURNING' }, 'own writes are not coming back from the bus; resyncing the room');
      this.context.hub.resync(room);
    }
    this.context.engine.store
      .set(room.name, this.id, variable, message.value)
      .then(
        (result) => {
          if (result.ok) {
            this.context.metrics.sets.inc();
            return;
          }
          this.logAt('warn', { room: room.name, variable, reason: result.reason }, 'set refused by the store; resyncing the room');
          this.abandonWrite(variable);
          this.context.hub.resync(room);
        },
        (error: unknown) => {
          this.logAt('error', { err: error, room: room.name }, 'set failed');
          this.abandonWrite(variable);
        },
      )
      .catch((error: unknown) => this.logAt('error', { err: error, code: 'CV_ERR_SET_HANDLING' }, 'handling a set result failed'));
  }

  /** A write that will never come back as an event: show the client the mirror's value. */
  private abandonWrite(variable: string): void {
    if (!this.writes.abandoned(variable)) return;
    const value = this.room?.values.get(variable);
    if (value !== undefined && this.dialect !== null && this.state === 'joined') {
      this.outbox.put(variable, this.dialect.encodeSet(variable, value));
    }
  }

  deliver(text: EventText): void {
    if (this.joinBuffer !== null) {
      this.joinBuffer.push(text);
      return;
    }
    const event = text.event;
    if (this.state !== 'joined' || event.epoch !== this.epoch || event.seq <= this.floor) return;
    const dialect = this.dialect as Dialect;
    const variable = event.variable;
    if (this.writes.has(variable)) {
      // This client has a write of this variable in flight: anything before it is stale.
      const back = event.origin === this.id ? this.writes.returned(variable) : null;
      if (back !== null) {
        this.context.metrics.fanoutLatency.observe((performance.now() - back.receivedAt) / 1000);
        if (back.echo) this.outbox.put(variable, text.in(dialect));
      }
      return;
    }
    this.outbox.put(variable, text.in(dialect));
  }

  resynced({ snapshot, previous, all, changed }: Resync): void {
    const dialect = this.dialect;
    if (this.state !== 'joined' || dialect === null) return;
    let sameNames = all.size === this.variableNames.size;
    for (const name of all.keys()) sameNames &&= this.variableNames.has(name);
    if (!sameNames) {
      this.closeForMisbehaviour(CloseCode.Incompatibility, 'room-variables-changed');
      return;
    }
    // A client that joined ahead of the mirror saw a newer snapshot than `previous`: send all.
    const sendAll = previous.epoch !== this.epoch || this.floor > previous.seq;
    for (const [name, text] of all) {
      if (sendAll || changed.has(name) || this.writes.has(name)) this.outbox.put(name, text.in(dialect));
    }
    this.writes.clear();
    this.epoch = snapshot.epoch;
    this.floor = snapshot.seq;
  }

  evict(code: number, reason: string): void {
    this.close(code, reason);
  }

  /** Ping round: drop a client that did not answer the previous ping. */
  ping(): void {
    if (this.socket.readyState !== OPEN) return;
    if (!this.alive) {
      this.logAt('info', { room: this.room?.name }, 'no pong since the previous ping: dropping');
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  /** Writes what is pending now, then closes with `code` (drain: 1012). */
  flushAndClose(code: number, reason: string): void {
    this.outbox.flush();
    this.close(code, reason);
  }

  private refuse(error: ProtocolError): void {
    this.closeForMisbehaviour(error.code, error.reason);
  }

  private closeForMisbehaviour(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.context.metrics.protocolErrors.inc({ reason });
    this.logAt('info', { room: this.room?.name, code, reason }, 'closing connection');
    this.close(code, reason);
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState >= 2) return; // closing or closed already
    this.socket.close(code, reason);
    this.socket.resume(); // a join paused it; the client's close frame must be read
    // A client that never answers the close handshake must not hold the socket.
    setTimeout(() => this.socket.terminate(), 5_000).unref();
  }

  private onClose(code: number): void {
    if (this.state === 'closed') return;
    const wasJoined = this.state === 'joined';
    this.state = 'closed';
    this.clearHandshakeTimer();
    this.context.metrics.closes.inc({ code: closeCodeLabel(code) });
    this.logAt('info', { room: this.room?.name, code, durationMs: Date.now() - this.openedAt }, 'connection closed');
    const room = this.room;
    if (room === null) {
      this.context.forget(this, null);
      return;
    }
    this.context.hub.release(room, this);
    const leaving = wasJoined
      ? this.context.engine.store.leave(this.leaseIn(room)).catch((error: unknown) => {
          this.logAt('error', { err: error, room: room.name }, 'leave failed; the lease will lapse');
        })
      : null;
    this.context.forget(this, leaving);
  }
}
