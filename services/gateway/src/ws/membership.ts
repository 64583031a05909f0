/**
 * One client's place in a room, from the moment its join starts: which of the room's
 * events it is shown and when, and its changes to the room.
 *
 * - Gap-free join (DESIGN.md invariant 2): the hub delivers events from the moment the
 *   room is acquired, before the store took the join's snapshot; they are held and, once
 *   the snapshot is known, only those after its seq are shown. A resync of the room that
 *   lands during the join is held too and applied if it is newer than the snapshot.
 * - Convergence (invariant 3): the rule in own-writes.ts decides which events of a
 *   variable this client writes are stale, and when its own value is echoed.
 * - A 2020 client declared its variables: it is shown only those, and a set, rename or
 *   delete of another is a protocol error (4000). A Scratch 3 client declares none: it
 *   sees every variable, and its sets create them (within the room's limits).
 */
import { CloseCode, type DeleteRequest, type Dialect, type RenameRequest, type SetRequest } from '@cloudvars/protocol';
import type { ChangeRefusal, ChangeResult, Lease, RoomSnapshot } from '@cloudvars/rooms';
import { breaksRange, refusedChange, storeChecks } from '../policy/policy.ts';
import type { ClientPolicy } from './client-policy.ts';
import type { EventText } from '../hub/event-text.ts';
import type { Outbox } from './outbox.ts';
import { OwnWrites } from './own-writes.ts';
import { resyncIsNewer, type LocalRoom, type Resync, type RoomMember } from '../hub/room-hub.ts';
import type { SessionContext } from './session-context.ts';
import { WaitingWrites } from './waiting-writes.ts';

/** What a membership needs from its connection. */
export interface MemberHost {
  readonly id: string;
  readonly address: string;
  readonly dialect: Dialect;
  readonly policy: ClientPolicy;
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

/** Refusals that mean this pod's view of the room is wrong: re-read it. */
const STALE_VIEW: ReadonlySet<ChangeRefusal> = new Set(['unknown-room', 'unknown-variable']);

/** The variable names of each room's last join: see namesOf. */
const roomNames = new WeakMap<LocalRoom, ReadonlySet<string>>();

/**
 * The members of a room nearly always join with the same variable names, so they share one
 * Set (a 10-name Set is about 400 bytes per joined client); a client whose names differ
 * gets its own, which later joins then share. Never mutated: memberships replace it.
 */
function namesOf(room: LocalRoom, list: readonly string[]): ReadonlySet<string> {
  const last = roomNames.get(room);
  if (last !== undefined && last.size === list.length && list.every((name) => last.has(name))) return last;
  const names = new Set(list);
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
  /** The variables a 2020 client declared; null for a client that declares none (sees all). */
  private declared: ReadonlySet<string> | null = null;
  /** Events are shown only when from `epoch` and after `floor` (the snapshot's seq). */
  private epoch = '';
  private floor = 0;
  private readonly writes = new OwnWrites();
  /**
   * Sets beyond the rate, waiting for it (clients whose sets wait instead of closing). Made
   * at the first set: an idle client keeps none.
   */
  private waiting: WaitingWrites | null = null;

  constructor(
    private readonly host: MemberHost,
    readonly room: LocalRoom,
    private readonly context: SessionContext,
    /** As the client sent it: the room's log shows it, and an operator's kick names it. */
    private readonly username: string,
  ) {}

  /** The waiting writes of a client whose sets wait over the rate (made at its first set), else null. */
  private waitingWrites(): WaitingWrites | null {
    if (this.waiting !== null || !this.host.policy.setsWaitOverRate) return this.waiting;
    const { config } = this.context;
    return (this.waiting = new WaitingWrites(config.rateLimitPerSecond, config.rateLimitBurst, config.maxVariables, (variable, value) => this.store(variable, value)));
  }

  get id(): string {
    return this.host.id;
  }

  get isJoined(): boolean {
    return this.early === null;
  }

  /** This connection's lease in the store. */
  get lease(): Lease {
    const usernameKey = this.host.policy.claimsUsername ? this.username.toLowerCase() : null;
    return { room: this.room.name, connectionId: this.host.id, address: this.host.address, usernameKey };
  }

  /**
   * The store admitted the client with this snapshot: send it (a room the client created
   * needs only the values the handshake had wrong: `onlyThese`), then what arrived meanwhile.
   * `declared`: the names a 2020 client declared at the handshake (the room has them all, and
   * in a shared room others it is not shown); null for a client that declares none.
   */
  start(snapshot: RoomSnapshot, onlyThese: ReadonlySet<string> | null, declared: readonly string[] | null): void {
    const early = this.early ?? { events: [], resync: null };
    this.early = null;
    const names = namesOf(this.room, declared ?? snapshot.variables.map(([name]) => name));
    this.declared = declared === null ? null : names;
    // The room's copy of the epoch when it is the same: one string per room, not one per member.
    this.epoch = this.room.epoch === snapshot.epoch ? this.room.epoch : snapshot.epoch;
    this.floor = snapshot.seq;
    const dialect = this.host.dialect;
    const messages: string[] = [];
    for (const [name, value] of snapshot.variables) {
      if (this.declared !== null && !this.declared.has(name)) continue;
      if (onlyThese === null || onlyThese.has(name)) messages.push(dialect.encodeSet(name, value));
    }
    this.host.outbox.sendSnapshot(messages, names);
    // A resync that read the room after our snapshot was taken skipped us: apply it now.
    const resync = early.resync;
    if (resync !== null && resyncIsNewer(resync, snapshot)) {
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
    if (event.type === 'kick') {
      // An operator's kick (docs: close codes): today's clients that stop on 4002 stay out.
      if (event.username === this.username.toLowerCase()) this.removedByOperator(CloseCode.Username, 'kicked');
      return;
    }
    if (event.type === 'room-deleted') {
      // Everyone reconnects on 4010, into the room created anew, empty.
      this.removedByOperator(CloseCode.RoomDeleted, 'room-deleted');
      return;
    }
    const variable = event.variable;
    if (event.type !== 'set') {
      // A 2020 client cannot follow a variable of its own going away.
      if (this.declared?.has(variable) === true) this.host.closeForMisbehaviour(CloseCode.Incompatibility, `room-variable-${event.type}d`);
      return;
    }
    if (this.declared !== null && !this.declared.has(variable)) return;
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
    for (const name of this.declared ?? []) {
      if (!all.has(name)) {
        // The room lost a variable this client declared (re-created, or a delete or migration whose events were lost).
        this.host.closeForMisbehaviour(CloseCode.Incompatibility, 'room-variables-changed');
        return;
      }
    }
    // A client that joined ahead of the mirror saw a newer snapshot than `previous`: send all.
    const sendAll = previous.epoch !== this.epoch || this.floor > previous.seq;
    const dialect = this.host.dialect;
    for (const [name, text] of all) {
      if (this.declared !== null && !this.declared.has(name)) continue;
      if (sendAll || changed.has(name) || this.writes.has(name)) this.host.outbox.put(name, text.in(dialect));
    }
    // Writes still waiting for the rate go to the store later; their events are shown then.
    this.writes.clear();
    this.epoch = snapshot.epoch;
    this.floor = snapshot.seq;
  }

  evict(code: number, reason: string): void {
    this.host.close(code, reason);
  }

  /** An operator blocked the project (its policy): today's clients stop on 4004 and do not come back. */
  blocked(reason: string): void {
    this.host.log('info', { room: this.room.name, code: CloseCode.ProjectUnavailable, reason: 'project-blocked', policyReason: reason }, 'closing connection: project blocked');
    this.host.close(CloseCode.ProjectUnavailable, 'project-blocked');
  }

  /** An operator's action removed the client (not its misbehaviour). */
  private removedByOperator(code: number, reason: string): void {
    this.host.log('info', { room: this.room.name, code, reason }, 'closing connection: operator action');
    this.host.close(code, reason);
  }

  /** The connection closed: nothing more goes to the store for it. */
  stop(): void {
    this.waiting?.clear();
  }

  /** A set from the client: stored, and its event comes back through the bus like anyone's. */
  set(message: SetRequest): void {
    if (!this.mayChange(message.variable)) return;
    if (!message.valid) {
      // PROTOCOL.md: an invalid value is ignored silently (and counted here).
      this.ignored('invalid-value');
      return;
    }
    const { variable, value } = message;
    const policy = this.context.policies.get(this.room.name);
    if (policy !== null && breaksRange(policy, variable, value)) {
      this.ignored('rule');
      return;
    }
    const outbox = this.host.outbox;
    outbox.drop(variable); // anything queued for it was ordered before this write
    const now = performance.now();
    const waiting = this.waitingWrites();
    if (waiting?.has(variable) === true) {
      waiting.replace(variable, value);
      this.writes.replaced(variable, now, outbox.lastSent(variable));
      this.ignored('superseded-while-waiting');
      return;
    }
    if (this.writes.started(variable, now, outbox.lastSent(variable)) === MAX_WRITES_IN_FLIGHT) {
      this.host.log('error', { room: this.room.name, variable, code: 'CV_ERR_EVENTS_NOT_RETURNING' }, 'own writes are not coming back from the bus; resyncing the room');
      this.context.hub.resync(this.room);
    }
    if (waiting === null || waiting.admit()) {
      this.store(variable, value);
    } else if (!waiting.hold(variable, value)) {
      this.abandonWrite(variable);
      this.ignored('too-many-waiting');
    }
  }

  rename(message: RenameRequest): void {
    if (!this.host.policy.appliesRename) {
      this.ignored('rename-disabled');
      return;
    }
    if (!this.mayChange(message.variable) || !this.withinRate()) return;
    this.change('rename', message.variable, () => this.context.engine.store.rename(this.room.name, this.host.id, message.variable, message.newName, { user: this.username }));
  }

  delete(message: DeleteRequest): void {
    if (!this.host.policy.appliesDelete) {
      this.ignored('delete-disabled');
      return;
    }
    if (!this.mayChange(message.variable) || !this.withinRate()) return;
    this.change('delete', message.variable, () => this.context.engine.store.delete(this.room.name, this.host.id, message.variable, { user: this.username }));
  }

  /**
   * Renames and deletes (today's clients only) take from the sets' rate: one over it, or
   * one while sets wait for the rate, is ignored and counted, since it cannot wait in line
   * the way a set does (only sets are kept there, one value per variable).
   */
  private withinRate(): boolean {
    if (this.waitingWrites()?.admit() !== false) return true;
    this.ignored('rate-limited');
    return false;
  }

  /** A 2020 client may only change what it declared: anything else is a protocol error. */
  private mayChange(variable: string): boolean {
    if (this.declared !== null && !this.declared.has(variable)) {
      this.host.closeForMisbehaviour(CloseCode.Generic, 'unknown-variable');
      return false;
    }
    const policy = this.context.policies.get(this.room.name);
    const refusal = policy === null ? null : refusedChange(policy, variable);
    if (refusal === null) return true;
    this.ignored(refusal);
    return false;
  }

  private store(variable: string, value: string): void {
    const room = this.room;
    const create = this.declared === null;
    // Read when the set goes to the store (it may have waited for the rate): the policy then in force. No policy: no extra work.
    const policy = this.context.policies.get(room.name);
    const checks = policy === null ? null : storeChecks(policy, variable);
    const pressure = this.context.pressure;
    pressure.started();
    this.context.engine.store
      .set(room.name, this.host.id, variable, value, checks === null ? { create, user: this.username } : { create, user: this.username, ...checks })
      .then(
        (result) => {
          pressure.settled();
          if (result.ok) {
            this.context.metrics.sets.inc();
            return;
          }
          this.abandonWrite(variable);
          this.refused('set', variable, result.reason);
        },
        (error: unknown) => {
          pressure.settled();
          this.host.log('error', { err: error, room: room.name }, 'set failed');
          this.abandonWrite(variable);
        },
      )
      .catch((error: unknown) => this.host.log('error', { err: error, code: 'CV_ERR_SET_HANDLING' }, 'handling a set result failed'));
  }

  private change(what: 'rename' | 'delete', variable: string, call: () => Promise<ChangeResult>): void {
    const pressure = this.context.pressure;
    pressure.started();
    call()
      .finally(() => pressure.settled())
      .then((outcome) => {
        if (outcome.ok) this.context.metrics.changes.inc({ type: what });
        else this.refused(what, variable, outcome.reason);
      })
      .catch((error: unknown) => this.host.log('error', { err: error, room: this.room.name }, `${what} failed`));
  }

  /** The store refused a change: a view that disagrees with it is re-read; limits are counted. */
  private refused(what: 'set' | 'rename' | 'delete', variable: string, reason: ChangeRefusal): void {
    // Renaming or deleting a name that is gone is an ordinary race (two tabs deleting it).
    if (STALE_VIEW.has(reason) && (what === 'set' || reason !== 'unknown-variable')) {
      this.host.log('warn', { room: this.room.name, variable, reason }, `${what} refused by the store; resyncing the room`);
      this.context.hub.resync(this.room);
      return;
    }
    this.host.log('info', { room: this.room.name, variable, reason }, `${what} refused by the store`);
    this.ignored(reason);
  }

  private ignored(reason: string): void {
    this.context.metrics.changesIgnored.inc({ reason });
  }

  /** A write that will never come back as an event: show the client the mirror's value. */
  private abandonWrite(variable: string): void {
    if (!this.writes.abandoned(variable)) return;
    const value = this.room.values.get(variable);
    if (value !== undefined) this.host.outbox.put(variable, this.host.dialect.encodeSet(variable, value));
  }
}
