/**
 * This pod's view of the rooms its clients are in. For each room: one bus subscription
 * (reference-counted by members, dropped after a short linger), a mirror of the room's
 * variables at (epoch, seq), and the members to fan events out to.
 *
 * Every event, including those of this pod's own clients, reaches members through the
 * bus in store order (DESIGN.md invariant 1). A gap in seq, a new epoch or a bus reconnect
 * makes the room re-read its snapshot and send each member only what changed (invariant 4),
 * after the operators' actions (kicks, the room's deletion) the mirror had not applied: a
 * snapshot covers their seqs and holds nothing of them, so they are read from the store's
 * catch-up list (RoomStore.catchUp) and delivered first.
 */
import { CloseCode } from '@cloudvars/protocol';
import type { BusListener, RoomAction, RoomEngine, RoomEvent, RoomSnapshot } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayMetrics } from '../metrics.ts';
import type { RoomRules } from '../policy/room-limits.ts';
import { EventText } from './event-text.ts';
import { ResyncQueue } from './resync-queue.ts';

/**
 * What the hub needs from a member of a room: a client's view (ws/member-view.ts) or a live
 * page (live/viewer.ts), both behind the join gate (join-gate.ts).
 */
export interface RoomMember {
  readonly id: string;
  /** Called for each event of the room (sets, renames, deletes), in store order. */
  deliver(event: EventText): void;
  /** Called after a resync with the room's new state, worked out once for all members. */
  resynced(resync: Resync): void;
  /** True once the member's join completed (false while its join is in flight). */
  readonly isJoined: boolean;
  /** The room can no longer be served (it vanished from the store): close the client. */
  evict(code: number, reason: string): void;
}

export interface MirrorState {
  readonly epoch: string | null;
  readonly seq: number;
  readonly values: ReadonlyMap<string, string>;
}

/**
 * A resync's outcome, computed once per room (not per member): every variable as a
 * ready-to-encode event, and which of them differ from the mirror it replaces.
 */
export interface Resync {
  readonly snapshot: RoomSnapshot;
  readonly previous: MirrorState;
  /** Every variable of the snapshot, in its order. */
  readonly all: ReadonlyMap<string, EventText>;
  /** The variables whose value differs from `previous`. */
  readonly changed: ReadonlySet<string>;
}

/**
 * Whether a resync that landed while a member's own snapshot was being read is the newer
 * read: a higher seq, or another epoch (the hub's events follow its resync's from then on).
 */
export function resyncIsNewer(resync: Resync, snapshot: RoomSnapshot): boolean {
  return resync.snapshot.epoch !== snapshot.epoch || resync.snapshot.seq > snapshot.seq;
}

function resyncOf(room: string, snapshot: RoomSnapshot, previous: MirrorState): Resync {
  const all = new Map<string, EventText>();
  const changed = new Set<string>();
  for (const [variable, value] of snapshot.variables) {
    all.set(variable, new EventText({ type: 'set', room, epoch: snapshot.epoch, seq: snapshot.seq, origin: '', variable, value }));
    if (previous.values.get(variable) !== value) changed.add(variable);
  }
  return { snapshot, previous, all, changed };
}

/** What an event changes in a room's variables. */
function applyToMirror(values: Map<string, string>, event: RoomEvent): void {
  switch (event.type) {
    case 'set':
      values.set(event.variable, event.value);
      break;
    case 'rename': {
      const value = values.get(event.variable);
      values.delete(event.variable);
      if (value !== undefined) values.set(event.newName, value);
      break;
    }
    case 'delete':
      values.delete(event.variable);
      break;
    case 'kick':
    case 'room-deleted':
      break; // no variable changes (a deleted room's mirror is dropped by the hub)
  }
}

/** Events held while a room has no mirror yet or is being resynced; beyond this, resync. */
const MAX_BUFFERED_EVENTS = 10_000;
/**
 * Snapshot reads at once when many rooms resync (after a store outage): the others wait
 * their turn. A failed read is retried after 1 s, then 2, 4, ... up to 30 s, with jitter.
 */
const RESYNC_QUEUE = { maxInFlight: 32, firstRetryMs: 1_000, maxRetryMs: 30_000 } as const;

export class LocalRoom implements MirrorState {
  readonly members = new Set<RoomMember>();
  epoch: string | null = null;
  seq = 0;
  values: Map<string, string> = new Map();
  /** Non-null while events must be held: before the first snapshot, and during a resync. */
  buffer: RoomEvent[] | null = [];
  bufferOverflowed = false;
  /** A snapshot read of this room is in flight. */
  resyncing = false;
  resyncAgain = false;
  /** When the last successful snapshot read started (Date.now()), or null. */
  resyncedAt: number | null = null;
  lingerTimer: NodeJS.Timeout | null = null;
  /**
   * What the room's clients are held to (policy/room-limits.ts), as the policy book has it:
   * set by each client's join as it enters (RoomHub.enter), replaced at every change of the
   * room's policy (RoomHub.rulesChanged). Null only while no client has entered it (a live
   * page reads none); once set it stays set.
   */
  rules: RoomRules | null = null;

  constructor(
    readonly name: string,
    /** Resolves when the bus delivers this room's events (rejects if it could not subscribe). */
    readonly subscribed: Promise<void>,
  ) {}
}

/** A room a client entered: its rules are set (LocalRoom.rules). */
export type RuledRoom = LocalRoom & { readonly rules: RoomRules };

export interface RoomHubOptions {
  readonly engine: RoomEngine;
  readonly metrics: GatewayMetrics;
  readonly log: FastifyBaseLogger;
  /** How long an empty room stays subscribed, so a quick rejoin costs no round trip. */
  readonly lingerMs: number;
}

/**
 * The bus's listener: whoever builds the hub hands it to `engine.bus.listen` (app.ts), so
 * constructing one has no effect on the engine (tests build hubs the bus never feeds).
 */
export class RoomHub implements BusListener {
  private readonly rooms = new Map<string, LocalRoom>();
  /** Rooms with at least one member (kept as a count: a scan per join is quadratic in a storm). */
  private activeRooms = 0;
  private closed = false;

  private readonly resyncs: ResyncQueue<LocalRoom>;

  constructor(private readonly options: RoomHubOptions) {
    this.resyncs = new ResyncQueue(
      (room) => this.readSnapshot(room),
      RESYNC_QUEUE,
      (room, failures, delayMs, error) => {
        this.options.log.error({ err: error, room: room.name, failures, retryInMs: delayMs }, 'resync failed; retrying');
      },
    );
  }

  /**
   * Adds a member to the local room `name`, subscribing to the room first if this pod has
   * none yet; `create` makes the member for that room. Events reach it from now on. A
   * client's join passes the room's `rules` as the policy book has them now: they are the
   * room's before its member is made (a live page passes none and reads none).
   */
  enter<M extends RoomMember>(name: string, create: (room: LocalRoom) => M): M;
  enter<M extends RoomMember>(name: string, create: (room: RuledRoom) => M, rules: RoomRules): M;
  enter<M extends RoomMember>(name: string, create: (room: RuledRoom) => M, rules?: RoomRules): M {
    const room = this.acquire(name);
    if (rules !== undefined) room.rules = rules;
    // Ruled when `rules` came; without them the first overload's `create` takes any LocalRoom.
    const member = create(room as RuledRoom);
    if (room.members.size === 0) this.setActiveRooms(this.activeRooms + 1);
    room.members.add(member);
    return member;
  }

  private acquire(name: string): LocalRoom {
    let room = this.rooms.get(name);
    if (room === undefined) {
      const subscribed = this.options.engine.bus.subscribe([name]);
      room = new LocalRoom(name, subscribed);
      this.rooms.set(name, room);
      this.options.metrics.subscriptions.set(this.rooms.size);
      // The joiner awaits `subscribed` and reports the failure to its client; the room is
      // dropped so that the next joiner subscribes afresh instead of inheriting the failure.
      const created = room;
      subscribed.catch((error: unknown) => {
        this.options.log.error({ err: error, room: name }, 'subscribe failed');
        if (this.rooms.get(name) === created) {
          this.rooms.delete(name);
          this.resyncs.forget(created);
          this.options.metrics.subscriptions.set(this.rooms.size);
          // A SUBSCRIBE that timed out may still be carried out: undo it (Redis applies the
          // two in order; a later joiner's subscribe comes after both).
          this.unsubscribe(name);
        }
      });
    }
    if (room.lingerTimer !== null) {
      clearTimeout(room.lingerTimer);
      room.lingerTimer = null;
    }
    return room;
  }

  /**
   * The room's policy changed in the policy book (policy/enforce.ts, in the book's turn):
   * its rules on this pod, if the pod has the room, are these from now on.
   */
  rulesChanged(name: string, rules: RoomRules): void {
    const room = this.rooms.get(name);
    if (room !== undefined) room.rules = rules;
  }

  /** The room's members on this pod, joined or joining (a policy's block closes them). */
  membersOf(name: string): readonly RoomMember[] {
    return [...(this.rooms.get(name)?.members ?? [])];
  }

  release(room: LocalRoom, member: RoomMember): void {
    if (!room.members.delete(member) || room.members.size > 0) return;
    this.setActiveRooms(this.activeRooms - 1);
    if (this.closed) return;
    room.lingerTimer = setTimeout(() => this.forget(room), this.options.lingerMs);
    room.lingerTimer.unref();
  }

  private forget(room: LocalRoom): void {
    room.lingerTimer = null;
    if (room.members.size > 0 || this.rooms.get(room.name) !== room) return;
    this.rooms.delete(room.name);
    this.resyncs.forget(room);
    this.options.metrics.subscriptions.set(this.rooms.size);
    this.unsubscribe(room.name);
  }

  private unsubscribe(name: string): void {
    this.options.engine.bus.unsubscribe([name]).catch((error: unknown) => {
      this.options.log.error({ err: error, room: name }, 'unsubscribe failed');
    });
  }

  private setActiveRooms(count: number): void {
    this.activeRooms = count;
    this.options.metrics.rooms.set(count);
  }

  /** False once the room was dropped (lingered out, or its subscribe failed). */
  private isCurrent(room: LocalRoom): boolean {
    return this.rooms.get(room.name) === room;
  }

  /**
   * A member's join succeeded with this snapshot. The first snapshot of a room becomes its
   * mirror; a snapshot of another epoch means the room changed under us: resync it.
   */
  joined(room: LocalRoom, snapshot: RoomSnapshot): void {
    if (room.epoch === null && !room.resyncing) {
      this.establish(room, snapshot);
    } else if (room.epoch !== snapshot.epoch) {
      this.resync(room);
    }
  }

  onEvent(event: RoomEvent): void {
    const room = this.rooms.get(event.room);
    if (room !== undefined) this.receive(room, event);
  }

  private receive(room: LocalRoom, event: RoomEvent): void {
    if (room.buffer !== null) {
      if (room.buffer.length < MAX_BUFFERED_EVENTS) room.buffer.push(event);
      else room.bufferOverflowed = true;
      return;
    }
    this.apply(room, event);
  }

  /** BusListener: the bus may have lost events (it reconnected). */
  onResync(): void {
    this.options.log.warn({ rooms: this.rooms.size }, 'bus reconnected: resyncing every room');
    this.resyncAll();
  }

  /**
   * Re-reads every room: events may have been lost. With `since` (when an outage began),
   * a room read successfully since then is left alone: one outage, one read per room, even
   * when the bus's reconnect and the readiness probe's recovery both report it.
   */
  resyncAll(since?: number): void {
    for (const room of this.rooms.values()) {
      if (since !== undefined && room.resyncedAt !== null && room.resyncedAt >= since) continue;
      this.resync(room);
    }
  }

  private apply(room: LocalRoom, event: RoomEvent): void {
    if (event.type === 'room-deleted') {
      this.deleted(room, event);
      return;
    }
    if (event.epoch !== room.epoch || event.seq > room.seq + 1) {
      this.resync(room);
      return;
    }
    if (event.seq <= room.seq) return; // already in the mirror (a snapshot covered it)
    room.seq = event.seq;
    applyToMirror(room.values, event);
    const text = new EventText(event);
    for (const member of room.members) member.deliver(text);
  }

  /**
   * An operator deleted the room: its members of that epoch are told (they close), even
   * across a gap, and the mirror is dropped until the room exists again (a resync reads it:
   * a join elsewhere may have created it anew already). A deletion of an epoch the mirror has
   * left behind changes nothing.
   */
  private deleted(room: LocalRoom, event: RoomEvent): void {
    if (event.epoch !== room.epoch) return;
    const text = new EventText(event);
    for (const member of room.members) member.deliver(text);
    room.epoch = null;
    room.seq = 0;
    room.values = new Map();
    this.resync(room);
  }

  private establish(room: LocalRoom, snapshot: RoomSnapshot): void {
    room.epoch = snapshot.epoch;
    room.seq = snapshot.seq;
    room.values = new Map(snapshot.variables);
    this.replayBuffer(room);
  }

  private replayBuffer(room: LocalRoom): void {
    const buffered = room.buffer ?? [];
    const overflowed = room.bufferOverflowed;
    room.buffer = null;
    room.bufferOverflowed = false;
    if (overflowed) {
      this.resync(room);
      return;
    }
    for (const event of buffered) this.receive(room, event); // buffers again if a resync starts midway
  }

  /** Re-reads the room's snapshot (in its turn, see ResyncQueue) and tells every member what changed. */
  resync(room: LocalRoom): void {
    if (this.closed || !this.isCurrent(room)) return;
    room.buffer ??= []; // events wait for the snapshot from now on
    if (room.resyncing) {
      room.resyncAgain = true;
      return;
    }
    this.resyncs.request(room);
  }

  /** One snapshot read, for the resync queue: rejects when the read failed (it retries). */
  private async readSnapshot(room: LocalRoom): Promise<void> {
    if (this.closed || !this.isCurrent(room)) return;
    room.resyncing = true;
    this.options.metrics.resyncs.inc();
    const startedAt = Date.now();
    // Events wait in the buffer meanwhile: the mirror stays where it was until the read is applied.
    const { epoch, seq } = room;
    const { store } = this.options.engine;
    let snapshot: RoomSnapshot | null;
    let actions: readonly RoomAction[] = [];
    try {
      snapshot = await store.snapshot(room.name);
      // Read after the snapshot: every action it covers is in the list by then.
      if (epoch !== null) actions = await store.catchUp(room.name, epoch, seq);
    } finally {
      room.resyncing = false;
    }
    room.resyncedAt = startedAt;
    if (!this.isCurrent(room)) return;
    try {
      this.catchUp(room, snapshot, actions);
      this.applyResync(room, snapshot);
    } catch (error) {
      // A member failing to take the new state is a bug to log, not a read to retry.
      this.options.log.error({ err: error, room: room.name, code: 'CV_ERR_RESYNC_APPLY' }, 'applying a resync failed');
    }
  }

  /**
   * Delivers the actions of the mirror's epoch after its seq that the snapshot covers (those
   * after it come from the bus, or the next resync), before the members take the snapshot,
   * so each member still judges them by its own floor. A deletion closes its members (4010)
   * and leaves the mirror without an epoch, as the event would have.
   */
  private catchUp(room: LocalRoom, snapshot: RoomSnapshot | null, actions: readonly RoomAction[]): void {
    const covered = snapshot !== null && snapshot.epoch === room.epoch ? actions.filter((action) => action.seq <= snapshot.seq) : actions;
    for (const action of covered) {
      const text = new EventText(action);
      for (const member of room.members) member.deliver(text);
    }
    if (covered.length > 0) this.options.log.info({ room: room.name, actions: covered.length }, 'resync: delivered operator actions the bus had lost');
    if (covered.some((action) => action.type === 'room-deleted')) {
      room.epoch = null;
      room.seq = 0;
      room.values = new Map();
    }
  }

  private applyResync(room: LocalRoom, snapshot: RoomSnapshot | null): void {
    if (snapshot === null) {
      if (room.epoch !== null) {
        // The room existed and is gone (expired, or lost with Redis's data): its joined
        // members reconnect and re-create it. Members still joining create it themselves.
        this.options.log.warn({ room: room.name }, 'room vanished from the store; evicting its joined members');
        for (const member of [...room.members]) if (member.isJoined) member.evict(CloseCode.ServiceRestart, 'room-vanished');
      }
      // No mirror until a snapshot exists again: keep holding events (a join creating
      // the room right now needs the ones after its snapshot).
      room.epoch = null;
      room.seq = 0;
      room.values = new Map();
      room.buffer ??= [];
      if (room.resyncAgain) {
        // A join completed meanwhile (its snapshot could not become the mirror while we
        // were reading): read again, now that the room exists.
        room.resyncAgain = false;
        this.resync(room);
      }
      return;
    }
    const previous: MirrorState = { epoch: room.epoch, seq: room.seq, values: room.values };
    room.epoch = snapshot.epoch;
    room.seq = snapshot.seq;
    room.values = new Map(snapshot.variables);
    if (room.members.size > 0) {
      const resync = resyncOf(room.name, snapshot, previous);
      for (const member of room.members) member.resynced(resync);
    }
    if (room.resyncAgain) {
      // Keep the buffer: the next snapshot covers what it holds, the rest is replayed.
      room.resyncAgain = false;
      this.resync(room);
      return;
    }
    this.replayBuffer(room);
  }

  close(): void {
    this.closed = true;
    this.resyncs.close();
    for (const room of this.rooms.values()) if (room.lingerTimer) clearTimeout(room.lingerTimer);
  }
}
