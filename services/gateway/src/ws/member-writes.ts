/**
 * One joined client's changes to its room: each message the parser reads from the client
 * (it is the parser's MessageSink) is checked (declared names, the project's policy, the
 * set rate), then goes to the store; its event comes back through the bus like anyone's,
 * to the client's view (member-view.ts). A refusal ends here: counted, or the client closed.
 *
 * - A 2020 client may change only what it declared: anything else is a protocol error (4000).
 *   A Scratch 3 client's sets create variables (its dialect's `setsCreateVariables`), within
 *   the room's limits.
 * - Today's clients' sets beyond the rate wait for it (WaitingWrites, below), the newest value
 *   per variable; 2020 clients were closed for their frames' rate before they got here.
 */
import { CloseCode, type ClientMessage, type DeleteRequest, type Dialect, type MessageSink, type RenameRequest, type SetRequest } from '@cloudvars/protocol';
import type { ChangeRefusal, ChangeResult } from '@cloudvars/rooms';
import type { RuledRoom } from '../hub/room-hub.ts';
import { breaksRange, refusedChange, storeChecks, type ProjectPolicy } from '../policy/policy.ts';
import { setRate, type SetRate } from '../policy/room-limits.ts';
import type { ClientPolicy } from './client-policy.ts';
import type { ClientServices } from './client-services.ts';
import type { ClientSocket } from './client-socket.ts';
import type { Outbox } from './outbox.ts';
import type { OwnWrites } from './own-writes.ts';
import { TokenBucket } from './token-bucket.ts';

/** What the writes read of the client's view (member-view.ts), which makes them. */
export interface WritersView {
  readonly client: ClientSocket;
  /** Its rules: the policy in force now (a field the policy's changes replace). */
  readonly room: RuledRoom;
  readonly outbox: Outbox;
  readonly dialect: Dialect;
  readonly policy: ClientPolicy;
  readonly username: string;
  /** The variables a 2020 client declared; null for a client that declares none. */
  readonly declared: ReadonlySet<string> | null;
  /** Its writes in flight, which the view reads to hide stale events and owe echoes. */
  readonly writes: OwnWrites;
  /** Shows the client the mirror's value of a variable whose write will never come back. */
  showMirrored(variable: string): void;
}

/**
 * Writes of one variable whose events have not come back. Beyond this the bus is not
 * delivering (a deaf subscription): resync the room rather than let the list grow.
 */
const MAX_WRITES_IN_FLIGHT = 64;

/** Refusals that mean this pod's view of the room is wrong: re-read it. */
const STALE_VIEW: ReadonlySet<ChangeRefusal> = new Set(['unknown-room', 'unknown-variable']);

export class MemberWrites implements MessageSink {
  /**
   * Sets beyond the rate, waiting for it (clients whose sets wait instead of closing). Made
   * at the first set: an idle client keeps none.
   */
  private waiting: WaitingWrites | null = null;
  /** Whether this connection's first set refused at its address's bound was logged (atAddressBound). */
  private loggedAddressBound = false;

  constructor(
    private readonly view: WritersView,
    private readonly services: ClientServices,
  ) {}

  /** MessageSink: one message of a frame. False stops reading the frame (the connection is closing). */
  onClientMessage(message: ClientMessage): boolean {
    if (!this.view.client.isOpen) return false;
    this.apply(message);
    return this.view.client.isOpen;
  }

  /** One message of the joined client (or one it sent during its join, applied once it is in). */
  apply(message: ClientMessage): void {
    switch (message.kind) {
      case 'handshake':
        this.view.client.closeForMisbehaviour(CloseCode.Generic, 'second-handshake');
        break;
      case 'set':
        this.set(message);
        break;
      case 'rename':
        this.rename(message);
        break;
      case 'delete':
        this.delete(message);
        break;
    }
  }

  /** The connection closed: nothing more goes to the store for it. */
  stop(): void {
    this.waiting?.clear();
  }

  /** The room's set rate changed: sets waiting for it go at the new one (member-view.ts rateChanged). */
  rateChanged(rate: SetRate): void {
    this.waiting?.retune(rate.perSecond, rate.burst);
  }

  /** The waiting writes of a client whose sets wait over the rate (made at its first set), else null. */
  private waitingWrites(): WaitingWrites | null {
    if (this.waiting !== null || !this.view.policy.setsWaitOverRate) return this.waiting;
    const { config } = this.services;
    // The room's policy then in force; a later change retunes it (rateChanged).
    const policy = this.view.room.rules.policy;
    const { perSecond, burst } = setRate(config, policy);
    const maxWaiting = policy?.limits?.maxVariables ?? config.maxVariables;
    // A set that waited reads the policy in force when it goes to the store.
    return (this.waiting = new WaitingWrites(perSecond, burst, maxWaiting, (variable, value) => this.store(variable, value, this.view.room.rules.policy)));
  }

  /** A set from the client: stored, and its event comes back through the bus like anyone's. */
  private set(message: SetRequest): void {
    const { room, outbox, writes } = this.view;
    const policy = room.rules.policy;
    if (!this.mayChange(message.variable, policy)) return;
    if (!message.valid) {
      // PROTOCOL.md: an invalid value is ignored silently (and counted here).
      this.ignored('invalid-value');
      return;
    }
    const { variable, value } = message;
    if (policy !== null && breaksRange(policy, variable, value)) {
      this.ignored('rule');
      return;
    }
    // Anything queued for it was ordered before this write.
    const lastSent = outbox.supersede(variable);
    const now = performance.now();
    const waiting = this.waitingWrites();
    if (waiting?.has(variable) === true) {
      waiting.replace(variable, value);
      writes.replaced(variable, now, lastSent);
      this.ignored('superseded-while-waiting');
      return;
    }
    if (writes.started(variable, now, lastSent) === MAX_WRITES_IN_FLIGHT) {
      this.view.client.log(
        'error',
        { room: room.name, variable, code: 'CV_ERR_EVENTS_NOT_RETURNING' },
        'own writes are not coming back from the bus; resyncing the room',
      );
      this.services.hub.resync(room);
    }
    if (waiting === null || waiting.admit()) {
      this.store(variable, value, policy);
    } else if (!waiting.hold(variable, value)) {
      this.abandonWrite(variable);
      this.ignored('too-many-waiting');
    }
  }

  private rename(message: RenameRequest): void {
    if (!this.view.policy.appliesRename) {
      this.ignored('rename-disabled');
      return;
    }
    const policy = this.view.room.rules.policy;
    if (!this.mayChange(message.variable, policy) || !this.withinRate()) return;
    const { room, client, username } = this.view;
    this.change('rename', message.variable, () =>
      this.services.engine.store.rename(room.name, client.id, message.variable, message.newName, { user: username, address: client.address }),
    );
  }

  private delete(message: DeleteRequest): void {
    if (!this.view.policy.appliesDelete) {
      this.ignored('delete-disabled');
      return;
    }
    const policy = this.view.room.rules.policy;
    if (!this.mayChange(message.variable, policy) || !this.withinRate()) return;
    const { room, client, username } = this.view;
    this.change('delete', message.variable, () => this.services.engine.store.delete(room.name, client.id, message.variable, { user: username }));
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

  /**
   * A 2020 client may only change what it declared: anything else is a protocol error. The
   * room's policy (`policy`, null: none) may freeze or protect the variable.
   */
  private mayChange(variable: string, policy: ProjectPolicy | null): boolean {
    const declared = this.view.declared;
    if (declared !== null && !declared.has(variable)) {
      this.view.client.closeForMisbehaviour(CloseCode.Generic, 'unknown-variable');
      return false;
    }
    const refusal = policy === null ? null : refusedChange(policy, variable);
    if (refusal === null) return true;
    this.ignored(refusal);
    return false;
  }

  /** `policy`: the room's policy in force as the set goes to the store (null: none, no extra work). */
  private store(variable: string, value: string, policy: ProjectPolicy | null): void {
    const { room, client, username, dialect } = this.view;
    const create = dialect.setsCreateVariables;
    const checks = policy === null ? null : storeChecks(policy, variable);
    const { pressure, metrics } = this.services;
    pressure.started();
    this.services.engine.store
      // The address is charged what the set grows the room by (MAX_STORED_BYTES_PER_ADDRESS).
      .set(
        room.name,
        client.id,
        variable,
        value,
        checks === null ? { create, user: username, address: client.address } : { create, user: username, address: client.address, ...checks },
      )
      .then(
        (result) => {
          pressure.settled();
          if (result.ok) {
            metrics.sets.inc();
            return;
          }
          this.abandonWrite(variable);
          this.refused('set', variable, result.reason);
        },
        (error: unknown) => {
          pressure.settled();
          client.log('error', { err: error, room: room.name }, 'set failed');
          this.abandonWrite(variable);
        },
      )
      .catch((error: unknown) => client.log('error', { err: error, code: 'CV_ERR_SET_HANDLING' }, 'handling a set result failed'));
  }

  private change(what: 'rename' | 'delete', variable: string, call: () => Promise<ChangeResult>): void {
    const { pressure, metrics } = this.services;
    pressure.started();
    call()
      .finally(() => pressure.settled())
      .then((outcome) => {
        if (outcome.ok) metrics.changes.inc({ type: what });
        else this.refused(what, variable, outcome.reason);
      })
      .catch((error: unknown) => this.view.client.log('error', { err: error, room: this.view.room.name }, `${what} failed`));
  }

  /** The store refused a change: a view that disagrees with it is re-read; limits are counted. */
  private refused(what: 'set' | 'rename' | 'delete', variable: string, reason: ChangeRefusal): void {
    const { room, client } = this.view;
    // Renaming or deleting a name that is gone is an ordinary race (two tabs deleting it).
    if (STALE_VIEW.has(reason) && (what === 'set' || reason !== 'unknown-variable')) {
      client.log('warn', { room: room.name, variable, reason }, `${what} refused by the store; resyncing the room`);
      this.services.hub.resync(room);
      return;
    }
    if (reason === 'address-bytes') {
      this.atAddressBound(variable);
      return;
    }
    client.log('info', { room: room.name, variable, reason }, `${what} refused by the store`);
    this.ignored(reason);
  }

  /**
   * The address's sets grew rooms by MAX_STORED_BYTES_PER_ADDRESS: a set (or rename) that would
   * grow one more is ignored and counted every time, logged once per connection (a bot at its bound
   * keeps trying; its neighbours' and its own non-growing sets still apply).
   */
  private atAddressBound(variable: string): void {
    this.ignored('address-bytes');
    if (this.loggedAddressBound) return;
    this.loggedAddressBound = true;
    this.view.client.log(
      'warn',
      { room: this.view.room.name, variable, reason: 'address-bytes' },
      'change ignored: the address has grown rooms by MAX_STORED_BYTES_PER_ADDRESS',
    );
  }

  private ignored(reason: string): void {
    this.services.metrics.changesIgnored.inc({ reason });
  }

  /** A write that will never come back as an event: show the client the mirror's value. */
  private abandonWrite(variable: string): void {
    if (this.view.writes.abandoned(variable)) this.view.showMirrored(variable);
  }
}

/** The timer's callback, one for every instance (a bound function or arrow each costs memory per client). */
function releaseWaiting(writes: WaitingWrites): void {
  writes.release();
}

/**
 * Sets of one connection beyond its rate limit, waiting for it instead of closing the
 * connection (today's clients stop for good on 4004 and cannot be told to slow down). At
 * most one value waits per variable: a newer set replaces it, and the older value, which
 * no one would have seen for long anyway, is dropped. They go to the store in the order
 * they first waited, as fast as the rate allows. Made by MemberWrites at the first set.
 */
class WaitingWrites {
  /**
   * Made at the first write, full: the same as one made full at the join, since a bucket
   * never holds more than its burst (an idle client keeps none).
   */
  private bucket: TokenBucket | null = null;
  private waiting: Map<string, string> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private perSecond: number,
    private burst: number,
    /** Variables that may wait at once (the room's variable limit). */
    private readonly maxWaiting: number,
    private readonly apply: (variable: string, value: string) => void,
  ) {}

  private get tokens(): TokenBucket {
    return (this.bucket ??= new TokenBucket(this.perSecond, this.burst));
  }

  /** True when a write may go to the store now (it takes its token); false: it must wait. */
  admit(): boolean {
    // Behind writes already waiting: none overtakes another.
    if (this.waiting !== null && this.waiting.size > 0) return false;
    return this.tokens.take();
  }

  has(variable: string): boolean {
    return this.waiting?.has(variable) ?? false;
  }

  /** A newer value for a variable already waiting: it keeps its place in line. */
  replace(variable: string, value: string): void {
    this.waiting?.set(variable, value);
  }

  /** Makes the write wait; false when as many variables as allowed already wait (it is dropped). */
  hold(variable: string, value: string): boolean {
    const waiting = (this.waiting ??= new Map());
    if (waiting.size >= this.maxWaiting) return false;
    waiting.set(variable, value);
    this.timer ??= setTimeout(releaseWaiting, this.tokens.msUntil(), this);
    this.timer.unref();
    return true;
  }

  /**
   * The set rate changed (the room's policy): from now on writes go at the new one, and
   * what waits for a token is released on the new rate's schedule.
   */
  retune(perSecond: number, burst: number): void {
    this.perSecond = perSecond;
    this.burst = burst;
    this.bucket?.retune(perSecond, burst);
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(releaseWaiting, this.tokens.msUntil(), this);
    this.timer.unref();
  }

  /** Forgets every waiting write: the connection closed. */
  clear(): void {
    this.waiting = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The timer fired: what the rate allows now goes to the store, in the order it waited. */
  release(): void {
    this.timer = null;
    const waiting = this.waiting;
    if (waiting === null) return;
    const bucket = this.tokens;
    for (const [variable, value] of waiting) {
      if (!bucket.take()) break;
      waiting.delete(variable);
      this.apply(variable, value);
    }
    if (waiting.size > 0) {
      this.timer = setTimeout(releaseWaiting, bucket.msUntil(), this);
      this.timer.unref();
    }
  }
}
