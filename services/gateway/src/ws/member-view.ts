/**
 * One client's view of a room, from the moment its join starts: which of the room's events
 * it is shown and when. The room hub delivers to it; it writes to the client's outbox, and
 * closes the client's socket when the room leaves it no view to show.
 *
 * - Gap-free join (DESIGN.md invariant 2): hub/join-gate.ts.
 * - Convergence (invariant 3): the rule in own-writes.ts decides which events of a variable
 *   this client writes are stale, and when its own value is echoed. The client's writes
 *   (member-writes.ts) record them in `writes`; the view reads them.
 * - A 2020 client declared its variables: it is shown only those. A Scratch 3 client
 *   declares none: it sees every variable.
 */
import { CloseCode, type Dialect } from '@cloudvars/protocol';
import type { Lease, RoomSnapshot } from '@cloudvars/rooms';
import type { EventText } from '../hub/event-text.ts';
import { JoinGate } from '../hub/join-gate.ts';
import type { LocalRoom, Resync, RuledRoom } from '../hub/room-hub.ts';
import { setRate, type SetRate } from '../policy/room-limits.ts';
import type { ClientPolicy } from './client-policy.ts';
import type { ClientServices } from './client-services.ts';
import type { ClientSocket } from './client-socket.ts';
import { MemberWrites } from './member-writes.ts';
import type { Outbox } from './outbox.ts';
import { OwnWrites } from './own-writes.ts';
import type { TokenBucket } from './token-bucket.ts';

/** The variable names of each room's last join: see namesOf. */
const roomNames = new WeakMap<LocalRoom, ReadonlySet<string>>();

/**
 * The members of a room nearly always join with the same variable names, so they share one
 * Set (a 10-name Set is about 400 bytes per joined client); a client whose names differ
 * gets its own, which later joins then share. Never mutated: views replace it.
 */
function namesOf(room: LocalRoom, list: readonly string[]): ReadonlySet<string> {
  const last = roomNames.get(room);
  if (last !== undefined && last.size === list.length && list.every((name) => last.has(name))) return last;
  const names = new Set(list);
  roomNames.set(room, names);
  return names;
}

export class MemberView extends JoinGate {
  /** The variables a 2020 client declared; null for a client that declares none (sees all). */
  declared: ReadonlySet<string> | null = null;
  /** This client's writes whose events have not come back (member-writes.ts records them). */
  readonly writes = new OwnWrites();
  /** The client's changes: made at its first message (an idle client keeps none). */
  private changes: MemberWrites | null = null;

  constructor(
    readonly client: ClientSocket,
    /** Its rules (the policy, the limits) are the room's as they are now: fields, not a lookup. */
    readonly room: RuledRoom,
    readonly outbox: Outbox,
    readonly dialect: Dialect,
    readonly policy: ClientPolicy,
    /** A 2020 client's frame-rate bucket (the room's set rate retunes it); null for today's clients. */
    private readonly frameRate: TokenBucket | null,
    /** As the client sent it: the room's log shows it, and an operator's kick names it. */
    readonly username: string,
    private readonly services: ClientServices,
  ) {
    super();
  }

  /** The client's changes to the room (member-writes.ts), the parser's sink for its frames. */
  writer(): MemberWrites {
    return (this.changes ??= new MemberWrites(this, this.services));
  }

  /** The connection closed: nothing more goes to the store for it. */
  stop(): void {
    this.changes?.stop();
  }

  /**
   * The room's set rate changed (its policy was put or deleted, on any pod): it applies to
   * this client from its next set on, without a reconnection. Today's clients' sets wait
   * for it; a 2020 client's frames count against it.
   */
  rateChanged(rate: SetRate): void {
    if (this.policy.setsWaitOverRate) this.changes?.rateChanged(rate);
    else this.frameRate?.retune(rate.perSecond, rate.burst);
  }

  get id(): string {
    return this.client.id;
  }

  /** This connection's lease in the store. */
  get lease(): Lease {
    const usernameKey = this.policy.claimsUsername ? this.username.toLowerCase() : null;
    // Read at each renewal: a lease that lapsed comes back within the room's capacity as its policy says now.
    const maxClientsPerRoom = this.room.rules.policy?.limits?.maxClientsPerRoom;
    const lease = { room: this.room.name, connectionId: this.client.id, address: this.client.address, usernameKey };
    return maxClientsPerRoom === undefined ? lease : { ...lease, maxClientsPerRoom };
  }

  /**
   * The store admitted the client with this snapshot: send it (a room the client created
   * needs only the values the handshake had wrong: `onlyThese`), then what arrived meanwhile.
   * `declared`: the names a 2020 client declared at the handshake (the room has them all, and
   * in a shared room others it is not shown); null for a client that declares none.
   */
  start(snapshot: RoomSnapshot, onlyThese: ReadonlySet<string> | null, declared: readonly string[] | null): void {
    // The room's copy of the epoch when it is the same: one string per room, not one per member.
    const { events, newerResync } = this.open(snapshot, this.room.epoch === snapshot.epoch ? this.room.epoch : snapshot.epoch);
    const names = namesOf(this.room, declared ?? snapshot.variables.map(([name]) => name));
    this.declared = declared === null ? null : names;
    const messages: string[] = [];
    for (const [name, value] of snapshot.variables) {
      if (this.declared !== null && !this.declared.has(name)) continue;
      if (onlyThese === null || onlyThese.has(name)) messages.push(this.dialect.encodeSet(name, value));
    }
    this.outbox.sendSnapshot(messages, names);
    // A 2020 client's frames were counted at the global rate until it was in the room.
    const policy = this.room.rules.policy;
    if (policy?.limits?.setsPerSecond !== undefined) this.rateChanged(setRate(this.services.config, policy));
    // A resync that read the room after our snapshot was taken skipped us: apply it now.
    if (newerResync !== null) {
      this.showResync({ ...newerResync, previous: { epoch: snapshot.epoch, seq: snapshot.seq, values: new Map(snapshot.variables) } });
    }
    this.replay(events);
  }

  protected show(text: EventText): void {
    const event = text.event;
    // A set first: nearly every event is one, and it pays for no other kind's check.
    if (event.type === 'set') {
      const variable = event.variable;
      if (this.declared !== null && !this.declared.has(variable)) return;
      if (this.writes.has(variable)) {
        // This client has a write of this variable in flight: anything before it is stale.
        const back = event.origin === this.client.id ? this.writes.returned(variable) : null;
        if (back !== null) {
          this.services.metrics.fanoutLatency.observe((performance.now() - back.receivedAt) / 1000);
          if (back.echo) this.outbox.put(variable, text.in(this.dialect));
        }
        return;
      }
      this.outbox.put(variable, text.in(this.dialect));
      return;
    }
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
    // A 2020 client cannot follow a variable of its own going away.
    if (this.declared?.has(event.variable) === true) this.client.closeForMisbehaviour(CloseCode.Incompatibility, `room-variable-${event.type}d`);
  }

  protected showResync(resync: Resync): void {
    const { snapshot, previous, all, changed } = resync;
    for (const name of this.declared ?? []) {
      if (!all.has(name)) {
        // The room lost a variable this client declared (re-created, or a delete or migration whose events were lost).
        this.client.closeForMisbehaviour(CloseCode.Incompatibility, 'room-variables-changed');
        return;
      }
    }
    // A client that joined ahead of the mirror saw a newer snapshot than `previous`: send all.
    const sendAll = previous.epoch !== this.epoch || this.floor > previous.seq;
    for (const [name, text] of all) {
      if (this.declared !== null && !this.declared.has(name)) continue;
      if (sendAll || changed.has(name) || this.writes.has(name)) this.outbox.put(name, text.in(this.dialect));
    }
    // Writes still waiting for the rate go to the store later; their events are shown then.
    this.writes.clear();
    this.moveTo(snapshot.epoch, snapshot.seq);
  }

  /** The mirror's value of a variable whose write will never come back, for the client to show. */
  showMirrored(variable: string): void {
    const value = this.room.values.get(variable);
    if (value !== undefined) this.outbox.put(variable, this.dialect.encodeSet(variable, value));
  }

  evict(code: number, reason: string): void {
    this.client.close(code, reason);
  }

  /** An operator blocked the project (its policy): today's clients stop on 4004 and do not come back. */
  blocked(reason: string): void {
    this.client.log(
      'info',
      { room: this.room.name, code: CloseCode.ProjectUnavailable, reason: 'project-blocked', policyReason: reason },
      'closing connection: project blocked',
    );
    this.client.close(CloseCode.ProjectUnavailable, 'project-blocked');
  }

  /** An operator's action removed the client (not its misbehaviour). */
  private removedByOperator(code: number, reason: string): void {
    this.client.log('info', { room: this.room.name, code, reason }, 'closing connection: operator action');
    this.client.close(code, reason);
  }
}
