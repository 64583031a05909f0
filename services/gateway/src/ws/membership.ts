/**
 * One client's place in a room, from the moment its join starts: which of the room's
 * events it is shown and when, and its writes to the room.
 *
 * - Gap-free join (DESIGN.md invariant 2): the hub delivers events from the moment the
 *   room is acquired, before the store took the join's snapshot; they are held and, once
 *   the snapshot is known, only those after its seq are shown. A resync of the room that
 *   lands during the join is held too and applied if it is newer than the snapshot.
 * - Convergence (invariant 3): the rule in own-writes.ts decides which events of a
 *   variable this client writes are stale, and when its own value is echoed.
 */
import { CloseCode, type Dialect, type SetRequest } from '@cloudvars/protocol';
import type { Lease, RoomSnapshot } from '@cloudvars/rooms';
import type { EventText } from './event-text.ts';
import type { Outbox } from './outbox.ts';
import { OwnWrites } from './own-writes.ts';
import type { LocalRoom, Resync, RoomMember } from './room-hub.ts';
import type { SessionContext } from './session-context.ts';

/** What a membership needs from its connection. */
export interface MemberHost {
  readonly id: string;
  readonly address: string;
  readonly dialect: Dialect;
  readonly outbox: Outbox;
  /** Closes the connection for misbehaviour (counted and logged as such). */
  closeForMisbehaviour(code: number, reason: string): void;
  /** Closes the connection for a reason that is not the client's fault. */
  close(code: number, reason: string): void;
  log(level: 'info' | 'warn' | 'error', fields: object, message: string): void;
}

/**
 * Writes of one variable whose events have not come back. Beyond this the bus is not
 * delivering (a deaf subscription): resync the room rather than let the list grow.
 */
const MAX_WRITES_IN_FLIGHT = 64;

/** The variable names of each room's last join: see namesOf. */
const roomNames = new WeakMap<LocalRoom, ReadonlySet<string>>();

/**
 * The members of a room nearly always join with the same variable names, so they share one
 * Set (a 10-name Set is about 400 bytes per joined client); a client whose snapshot names
 * differ gets its own, which later joins then share. Never mutated: memberships replace it.
 */
function namesOf(room: LocalRoom, snapshot: RoomSnapshot): ReadonlySet<string> {
  const last = roomNames.get(room);
  if (last !== undefined && last.size === snapshot.variables.length && snapshot.variables.every(([name]) => last.has(name))) return last;
  const names = new Set(snapshot.variables.map(([name]) => name));
  roomNames.set(room, names);
  return names;
}

/** What arrived while the join was in flight. */
interface Early {
  readonly events: EventText[];
  resync: Resync | null;
}

export class Membership implements RoomMember {
  /** Non-null until `start()`: the join's snapshot is not known yet. */
  private early: Early | null = { events: [], resync: null };
  private variableNames: ReadonlySet<string> = new Set();
  /** Events are shown only when from `epoch` and after `floor` (the snapshot's seq). */
  private epoch = '';
  private floor = 0;
  private readonly writes = new OwnWrites();

  constructor(
    private readonly host: MemberHost,
    readonly room: LocalRoom,
    private readonly context: SessionContext,
  ) {}

  get id(): string {
    return this.host.id;
  }

  get isJoined(): boolean {
    return this.early === null;
  }

  /** This connection's lease in the store. */
  get lease(): Lease {
    return { room: this.room.name, connectionId: this.host.id, address: this.host.address };
  }

  /**
   * The store admitted the client with this snapshot: send it (a room the client created
   * needs only the values the handshake had wrong: `onlyThese`), then what arrived meanwhile.
   */
  start(snapshot: RoomSnapshot, onlyThese: ReadonlySet<string> | null): void {
    const early = this.early ?? { events: [], resync: null };
    this.early = null;
    this.variableNames = namesOf(this.room, snapshot);
    this.epoch = snapshot.epoch;
    this.floor = snapshot.seq;
    const dialect = this.host.dialect;
    const messages: string[] = [];
    for (const [name, value] of snapshot.variables) {
      if (onlyThese === null || onlyThese.has(name)) messages.push(dialect.encodeSet(name, value));
    }
    this.host.outbox.sendSnapshot(messages);
    // A resync that read the room after our snapshot was taken skipped us: apply it now.
    const resync = early.resync;
    if (resync !== null && (resync.snapshot.epoch !== snapshot.epoch || resync.snapshot.seq > snapshot.seq)) {
      this.resynced({ ...resync, previous: { epoch: snapshot.epoch, seq: snapshot.seq, values: new Map(snapshot.variables) } });
    }
    for (const text of early.events) this.deliver(text);
  }

  deliver(text: EventText): void {
    if (this.early !== null) {
      this.early.events.push(text);
      return;
    }
    const event = text.event;
    if (event.epoch !== this.epoch || event.seq <= this.floor) return;
    const variable = event.variable;
    if (this.writes.has(variable)) {
      // This client has a write of this variable in flight: anything before it is stale.
      const back = event.origin === this.host.id ? this.writes.returned(variable) : null;
      if (back !== null) {
        this.context.metrics.fanoutLatency.observe((performance.now() - back.receivedAt) / 1000);
        if (back.echo) this.host.outbox.put(variable, text.in(this.host.dialect));
      }
      return;
    }
    this.host.outbox.put(variable, text.in(this.host.dialect));
  }

  resynced(resync: Resync): void {
    if (this.early !== null) {
      this.early.resync = resync;
      return;
    }
    const { snapshot, previous, all, changed } = resync;
    for (const name of this.variableNames) {
      if (!all.has(name)) {
        // The room was re-created or migrated without a variable this client declared.
        this.host.closeForMisbehaviour(CloseCode.Incompatibility, 'room-variables-changed');
        return;
      }
    }
    // A client that joined ahead of the mirror saw a newer snapshot than `previous`: send all.
    const sendAll = previous.epoch !== this.epoch || this.floor > previous.seq;
    const dialect = this.host.dialect;
    for (const [name, text] of all) {
      if (sendAll || changed.has(name) || this.writes.has(name)) this.host.outbox.put(name, text.in(dialect));
    }
    this.writes.clear();
    this.epoch = snapshot.epoch;
    this.floor = snapshot.seq;
  }

  evict(code: number, reason: string): void {
    this.host.close(code, reason);
  }

  /** A set from the client: stored, and its event comes back through the bus like anyone's. */
  set(message: SetRequest): void {
    const room = this.room;
    if (!this.variableNames.has(message.variable)) {
      this.host.closeForMisbehaviour(CloseCode.Generic, 'unknown-variable');
      return;
    }
    if (!message.valid) return; // PROTOCOL.md: an invalid value is ignored silently
    const variable = message.variable;
    const outbox = this.host.outbox;
    outbox.drop(variable); // anything queued for it was ordered before this write
    if (this.writes.started(variable, performance.now(), outbox.lastSent(variable)) === MAX_WRITES_IN_FLIGHT) {
      this.host.log('error', { room: room.name, variable, code: 'CV_ERR_EVENTS_NOT_RETURNING' }, 'own writes are not coming back from the bus; resyncing the room');
      this.context.hub.resync(room);
    }
    this.context.engine.store
      .set(room.name, this.host.id, variable, message.value)
      .then(
        (result) => {
          if (result.ok) {
            this.context.metrics.sets.inc();
            return;
          }
          this.host.log('warn', { room: room.name, variable, reason: result.reason }, 'set refused by the store; resyncing the room');
          this.abandonWrite(variable);
          this.context.hub.resync(room);
        },
        (error: unknown) => {
          this.host.log('error', { err: error, room: room.name }, 'set failed');
          this.abandonWrite(variable);
        },
      )
      .catch((error: unknown) => this.host.log('error', { err: error, code: 'CV_ERR_SET_HANDLING' }, 'handling a set result failed'));
  }

  /** A write that will never come back as an event: show the client the mirror's value. */
  private abandonWrite(variable: string): void {
    if (!this.writes.abandoned(variable)) return;
    const value = this.room.values.get(variable);
    if (value !== undefined) this.host.outbox.put(variable, this.host.dialect.encodeSet(variable, value));
  }
}
