import type {
  ChangeOptions,
  ChangeResult,
  EngineLimits,
  JoinOutcome,
  JoinRefusal,
  JoinRequest,
  JoinResult,
  Lease,
  LogEntry,
  RoomAction,
  RoomActionResult,
  RoomSnapshot,
  RoomEvent,
  RoomStore,
  SetChange,
  SetManyOptions,
  SetOptions,
  SetResult,
} from '../ports.ts';
import type { MemoryBus } from './bus.ts';
import { ACTION_HISTORY_LENGTH, ACTION_HISTORY_TTL_MS, actionsAfter, isRoomAction } from '../actions.ts';
import { engineClosed } from '../errors.ts';
import { DEFAULT_LOG_LENGTH, LOG_NAME_BYTES, LOG_VALUE_BYTES, clipUtf8 } from '../log.ts';
import { EmptyRooms } from './empty-rooms.ts';
import { LeaseTable, type LeaseRecord } from './leases.ts';
import type { MemoryModeration } from './moderation.ts';
import { StoredBytesLedger, chargeOf, logEntryBytes, logEntryBytesOf, roomSize } from '../stored-bytes.ts';
import { addNames, createRoom, entryBytes, growsBeyond, increases, sameNames, snapshotOf, usernameKey, utf8Length, type MemoryRoom } from './rooms.ts';

/** What a change adds to a room's charged size and its address's ledger (MemoryStore.growth). */
interface Growth {
  /** The address charged; null: nobody (an operator, or no limit). */
  readonly address: string | null;
  readonly logEntryMax: number;
  readonly charge: number;
  readonly chargedSize: number | null;
}

/**
 * The single-process store. Every method runs to completion synchronously before its
 * promise settles, which makes each one atomic and gives every room one order.
 * Lapsed leases and expired empty rooms are cleaned up at the start of every call
 * (`maintain`), so limits only ever count live leases.
 */
export class MemoryStore implements RoomStore {
  private readonly rooms = new Map<string, MemoryRoom>();
  private readonly leases = new LeaseTable();
  /** Empty rooms -> when they became empty (empty-rooms.ts). */
  private readonly emptySince = new EmptyRooms();
  /** The same for empty rooms nobody changed since their creation (a shorter ttl). */
  private readonly emptyUntouchedSince = new EmptyRooms();
  /** What a sweep of the empty rooms does with one that expired (made once, not per call). */
  private readonly forgetExpired = (name: string): void => this.forgetRoom(name);
  /** Rooms with at least one live member: the cluster-wide `maxRooms` counts these. */
  private activeRooms = 0;
  private closed = false;

  private readonly logLength: number;
  /** Each room's latest operator actions and when they lapse (actions.ts); kept apart from the room, which a deletion removes. */
  private readonly actions = new Map<string, { list: RoomAction[]; expiresAt: number }>();
  /** What each address's sets grew rooms by (EngineLimits.maxStoredBytesPerAddress). */
  private readonly ledger = new StoredBytesLedger(() => this.limits.roomTtlMs);

  constructor(
    private readonly limits: EngineLimits,
    private readonly now: () => number,
    private readonly bus: MemoryBus,
    private readonly moderation: MemoryModeration,
  ) {
    this.logLength = limits.logLength ?? DEFAULT_LOG_LENGTH;
  }

  async join(request: JoinRequest): Promise<JoinResult> {
    const now = this.maintain();
    const barred = this.moderation.barred(request.room, request.username, request.address);
    if (barred !== null) return { ok: false, reason: barred };
    const existing = this.rooms.get(request.room);
    const live = existing?.members.size ?? 0;
    const nameKey = request.claimUsername ? usernameKey(request.username) : null;
    if (nameKey !== null && existing?.names.has(nameKey) === true) return { ok: false, reason: 'username-taken' };
    if (live >= (request.maxClientsPerRoom ?? this.limits.maxClientsPerRoom)) return { ok: false, reason: 'room-full' };
    if (live === 0 && this.activeRooms >= this.limits.maxRooms) return { ok: false, reason: 'too-many-rooms' };
    if (this.leases.addressCount(request.address) >= this.limits.maxConnectionsPerAddress) {
      return { ok: false, reason: 'address-limit' };
    }
    if (existing === undefined && request.mayCreate === false) return { ok: false, reason: 'room-creation-limit' };

    let room: MemoryRoom;
    let outcome: JoinOutcome;
    if (existing === undefined) {
      const stored = addNames(request.variables ?? [], 0, 0, this.budgetOf(request));
      if (!stored.ok) return stored;
      // A 2020 creation's initial values are the address's growth, as a set's are (none is logged).
      const growth = this.growth(request.address, { bytes: 0, logEntryMax: 0, chargedSize: null }, stored.bytes, 0, now);
      if (growth === null) return { ok: false, reason: 'address-bytes' };
      room = createRoom(stored.entries, this.logLength, request.variables !== null);
      this.grow(request.room, room, growth, now);
      room.untouched = this.limits.untouchedRoomTtlMs > 0;
      this.rooms.set(request.room, room);
      outcome = 'created';
    } else {
      room = existing;
      const changed = this.joinChanges(request, existing, live);
      if (!changed.ok) return changed;
      outcome = changed.outcome;
    }
    // Rejoining with a connection id already in use is outside the contract; releasing
    // the old lease first keeps the counts consistent if it happens anyway.
    this.release(request.connectionId, now);
    const record: LeaseRecord = {
      room: request.room,
      connectionId: request.connectionId,
      address: request.address,
      usernameKey: nameKey,
      expiresAt: 0,
    };
    this.attach(room, request.room, record, now);
    return { ok: true, outcome, snapshot: snapshotOf(room) };
  }

  /** The variable and byte limits a join's names are judged by: the request's (a project's policy), else the engine's. */
  private budgetOf(request: JoinRequest): Pick<EngineLimits, 'maxRoomBytes' | 'maxVariables'> {
    return {
      maxVariables: request.maxVariables ?? this.limits.maxVariables,
      maxRoomBytes: request.maxRoomBytes ?? this.limits.maxRoomBytes,
    };
  }

  /**
   * What a join does to a room that exists (ports.ts, JoinRequest.variables): nothing, a
   * migration of a 2020-only room, or the names a shared room lacks added; each change
   * logged as the joiner's and published, in the room's order.
   */
  private joinChanges(request: JoinRequest, room: MemoryRoom, live: number): { ok: true; outcome: JoinOutcome } | { ok: false; reason: JoinRefusal } {
    const declared = request.variables;
    if (declared === null) return { ok: true, outcome: 'joined' };
    const missing = declared.filter(([name]) => !room.variables.has(name));
    let removed: string[] = [];
    if (room.only2020) {
      if (sameNames(room, declared)) return { ok: true, outcome: 'joined' };
      if (live > 0) return { ok: false, reason: 'variables-mismatch' };
      const wanted = new Set(declared.map(([name]) => name));
      removed = [...room.variables.keys()].filter((name) => !wanted.has(name));
    } else if (missing.length === 0) {
      return { ok: true, outcome: 'joined' };
    }
    let keptBytes = room.bytes;
    for (const name of removed) keptBytes -= entryBytes(name, room.variables.get(name) as string);
    const added = addNames(missing, room.variables.size - removed.length, keptBytes, this.budgetOf(request));
    if (!added.ok) return added;
    // What it adds is the address's growth, as a set's is; its log entries count like theirs.
    let entryMax = 0;
    for (const name of removed) entryMax = Math.max(entryMax, this.logEntry(name, ''));
    for (const [name, value] of added.entries) entryMax = Math.max(entryMax, this.logEntry(name, value));
    const growth = this.growth(request.address, room, added.bytes, entryMax, this.now());
    if (growth === null) return { ok: false, reason: 'address-bytes' };
    this.grow(request.room, room, growth, this.now());
    const log: ChangeOptions = { user: request.username };
    this.touch(request.room, room);
    for (const variable of removed) {
      room.variables.delete(variable);
      this.logged(room, log, 'delete', variable, '');
      this.applied(room, { type: 'delete', room: request.room, epoch: room.epoch, seq: room.seq + 1, origin: request.connectionId, variable });
    }
    for (const [variable, value] of added.entries) {
      room.variables.set(variable, value);
      this.logged(room, log, 'set', variable, value);
      this.applied(room, { type: 'set', room: request.room, epoch: room.epoch, seq: room.seq + 1, origin: request.connectionId, variable, value });
    }
    room.bytes = added.bytes;
    return { ok: true, outcome: room.only2020 ? 'migrated' : 'extended' };
  }

  async set(roomName: string, origin: string, variable: string, value: string, options: SetOptions = {}): Promise<SetResult> {
    const now = this.maintain();
    const room = this.rooms.get(roomName);
    if (room === undefined) return { ok: false, reason: 'unknown-room' };
    const old = room.variables.get(variable);
    if (old === undefined) {
      if (options.create !== true) return { ok: false, reason: 'unknown-variable' };
      if (room.variables.size >= (options.maxVariables ?? this.limits.maxVariables)) return { ok: false, reason: 'too-many-variables' };
    }
    if (options.increasing === true && !increases(old, value)) return { ok: false, reason: 'not-increasing' };
    // Each text counted once: a replaced value's name is in the room's bytes already, and the log entry's cost reuses both counts.
    const nameLength = utf8Length(variable);
    const valueLength = utf8Length(value);
    const bytes = old === undefined ? room.bytes + nameLength + valueLength : room.bytes - utf8Length(old) + valueLength;
    if (growsBeyond(room.bytes, bytes, options.maxRoomBytes ?? this.limits.maxRoomBytes)) return { ok: false, reason: 'over-budget' };
    const entryMax = this.logLength === 0 ? 0 : logEntryBytesOf(nameLength, valueLength, LOG_NAME_BYTES, LOG_VALUE_BYTES);
    const growth = this.growth(options.address, room, bytes, entryMax, now);
    if (growth === null) return { ok: false, reason: 'address-bytes' };
    this.grow(roomName, room, growth, now);
    if (old !== value) this.touch(roomName, room);
    if (options.create === true) room.only2020 = false;
    room.variables.set(variable, value);
    room.bytes = bytes;
    this.logged(room, options, 'set', variable, value, now);
    return this.applied(room, { type: 'set', room: roomName, epoch: room.epoch, seq: room.seq + 1, origin, variable, value });
  }

  async setMany(roomName: string, origin: string, changes: readonly SetChange[], options: SetManyOptions = {}): Promise<readonly SetResult[]> {
    // Each set's body runs to its end before the next begins (no await inside): the batch is one atomic step.
    return Promise.all(
      changes.map(({ variable, value, increasing }) => this.set(roomName, origin, variable, value, increasing === true ? { ...options, increasing } : options)),
    );
  }

  async rename(roomName: string, origin: string, variable: string, newName: string, options: ChangeOptions = {}): Promise<ChangeResult> {
    this.maintain();
    const room = this.rooms.get(roomName);
    if (room === undefined) return { ok: false, reason: 'unknown-room' };
    const value = room.variables.get(variable);
    if (value === undefined) return { ok: false, reason: 'unknown-variable' };
    if (room.variables.has(newName)) return { ok: false, reason: 'name-taken' };
    const bytes = room.bytes - entryBytes(variable, value) + entryBytes(newName, value);
    if (growsBeyond(room.bytes, bytes, this.limits.maxRoomBytes)) return { ok: false, reason: 'over-budget' };
    // A longer name is growth like a set's; its log entry holds both names, cut as names.
    const growth = this.growth(options.address, room, bytes, this.logEntry(variable, newName, LOG_NAME_BYTES), this.now());
    if (growth === null) return { ok: false, reason: 'address-bytes' };
    this.grow(roomName, room, growth, this.now());
    this.touch(roomName, room);
    room.only2020 = false;
    room.variables.delete(variable);
    room.variables.set(newName, value);
    room.bytes = bytes;
    this.logged(room, options, 'rename', variable, newName);
    return this.applied(room, { type: 'rename', room: roomName, epoch: room.epoch, seq: room.seq + 1, origin, variable, newName });
  }

  async delete(roomName: string, origin: string, variable: string, options: ChangeOptions = {}): Promise<ChangeResult> {
    this.maintain();
    const room = this.rooms.get(roomName);
    if (room === undefined) return { ok: false, reason: 'unknown-room' };
    const value = room.variables.get(variable);
    if (value === undefined) return { ok: false, reason: 'unknown-variable' };
    this.touch(roomName, room);
    room.only2020 = false;
    room.variables.delete(variable);
    room.bytes -= entryBytes(variable, value);
    this.logged(room, options, 'delete', variable, '');
    return this.applied(room, { type: 'delete', room: roomName, epoch: room.epoch, seq: room.seq + 1, origin, variable });
  }

  async log(roomName: string, limit: number): Promise<readonly LogEntry[] | null> {
    this.maintain();
    return this.rooms.get(roomName)?.log.newest(limit) ?? null;
  }

  async deleteRoom(roomName: string, origin: string): Promise<RoomActionResult> {
    const now = this.maintain();
    const room = this.rooms.get(roomName);
    if (room === undefined) return { ok: false, reason: 'unknown-room' };
    const result = this.applied(room, { type: 'room-deleted', room: roomName, epoch: room.epoch, seq: room.seq + 1, origin });
    // Every lease goes with the room: its slots free now, and the members' later leaves find nothing.
    for (const id of [...room.members]) this.release(id, now);
    this.forgetRoom(roomName);
    return result;
  }

  async kick(roomName: string, origin: string, username: string): Promise<RoomActionResult> {
    this.maintain();
    const room = this.rooms.get(roomName);
    if (room === undefined) return { ok: false, reason: 'unknown-room' };
    return this.applied(room, { type: 'kick', room: roomName, epoch: room.epoch, seq: room.seq + 1, origin, username: usernameKey(username) });
  }

  /** Appends a change to the room's log, cut as LogEntry says (log.ts). */
  /** What a logged change costs the room's size (stored-bytes.ts logEntryBytes); 0 without a log. */
  private logEntry(name: string, value: string, valueBytes = LOG_VALUE_BYTES): number {
    return this.logLength === 0 ? 0 : logEntryBytes(name, value, LOG_NAME_BYTES, valueBytes);
  }

  /**
   * The ledger's part of a change by `address` (undefined: an operator, not charged) taking a
   * room in state `from` to `bytes`, its log entries up to `entryMax` bytes (stored-bytes.ts):
   * null when the address is at its bound and the change would raise the room's charged size,
   * else what `grow` records once the change applies.
   */
  private growth(
    address: string | undefined,
    from: Pick<MemoryRoom, 'bytes' | 'logEntryMax' | 'chargedSize'>,
    bytes: number,
    entryMax: number,
    now: number,
  ): Growth | null {
    const logEntryMax = Math.max(from.logEntryMax, entryMax);
    const limit = this.limits.maxStoredBytesPerAddress ?? 0;
    if (address === undefined || limit === 0) return { address: null, logEntryMax, charge: 0, chargedSize: from.chargedSize };
    const charged = chargeOf(roomSize(from.bytes, from.logEntryMax, this.logLength), roomSize(bytes, logEntryMax, this.logLength), from.chargedSize);
    if (charged.charge > 0 && this.ledger.total(address, now) >= limit) return null;
    return { address, logEntryMax, charge: charged.charge, chargedSize: charged.chargedSize };
  }

  /** Records a growth (see growth) in the room and the address's ledger. */
  private grow(roomName: string, room: MemoryRoom, growth: Growth, now: number): void {
    room.logEntryMax = growth.logEntryMax;
    room.chargedSize = growth.chargedSize;
    if (growth.address !== null && growth.charge > 0) this.ledger.charge(growth.address, roomName, growth.charge, now);
  }

  /** `now`: the call's clock reading, when it has one (a set's: one read per set). */
  private logged(room: MemoryRoom, options: ChangeOptions, verb: LogEntry['verb'], name: string, value: string, now = this.now()): void {
    const logged = verb === 'rename' ? clipUtf8(value, LOG_NAME_BYTES) : clipUtf8(value);
    room.log.push({ user: options.user ?? '', verb, name: clipUtf8(name, LOG_NAME_BYTES), value: logged, timestamp: now });
  }

  /** Counts an applied change and publishes it, in the same synchronous step. */
  private applied(room: MemoryRoom, event: RoomEvent): { ok: true; seq: number } {
    room.seq = event.seq;
    if (isRoomAction(event)) this.keepAction(event);
    this.bus.publish(event);
    return { ok: true, seq: event.seq };
  }

  private keepAction(action: RoomAction): void {
    const kept = this.actions.get(action.room);
    const list = kept !== undefined && kept.expiresAt > this.now() ? kept.list : [];
    list.push(action);
    if (list.length > ACTION_HISTORY_LENGTH) list.shift();
    // Re-inserted: the map's order is the order of expiry, so the sweep stops at the first live one.
    this.actions.delete(action.room);
    this.actions.set(action.room, { list, expiresAt: this.now() + ACTION_HISTORY_TTL_MS });
  }

  async catchUp(roomName: string, epoch: string, afterSeq: number): Promise<readonly RoomAction[]> {
    this.maintain();
    const now = this.now();
    for (const [name, kept] of this.actions) {
      if (kept.expiresAt > now) break;
      this.actions.delete(name);
    }
    return actionsAfter(this.actions.get(roomName)?.list ?? [], epoch, afterSeq);
  }

  async leave(lease: Lease): Promise<void> {
    const now = this.maintain();
    const record = this.leases.getLive(lease.connectionId) ?? this.leases.getLapsed(lease.connectionId);
    if (record?.room !== lease.room) return;
    this.release(lease.connectionId, now);
    this.ledger.touch(lease.address, lease.room, now);
  }

  async renew(leases: readonly Lease[]): Promise<readonly Lease[]> {
    const now = this.maintain();
    const expiresAt = now + this.limits.leaseTtlMs;
    const lost: Lease[] = [];
    for (const lease of leases) {
      // A connection that stays keeps its room's ledger entry from lapsing (stored-bytes.ts).
      this.ledger.touch(lease.address, lease.room, now);
      const live = this.leases.getLive(lease.connectionId);
      if (live !== undefined && live.room === lease.room) {
        this.leases.extend(live, expiresAt);
        continue;
      }
      // A lease that lapsed (the owner missed its renewals) comes back only as it was: with
      // room for it and its username free. Anything else is lost: the owner reconnects.
      const lapsed = this.leases.getLapsed(lease.connectionId);
      const room = this.rooms.get(lease.room);
      const nameHolder = lapsed?.usernameKey == null ? undefined : room?.names.get(lapsed.usernameKey);
      const restorable =
        lapsed?.room === lease.room &&
        room !== undefined &&
        room.members.size < (lease.maxClientsPerRoom ?? this.limits.maxClientsPerRoom) &&
        (nameHolder === undefined || nameHolder === lapsed.connectionId);
      if (!restorable) {
        lost.push(lease);
        continue;
      }
      room.lapsed.delete(lapsed.connectionId);
      this.attach(room, lease.room, lapsed, now);
    }
    return lost;
  }

  async snapshot(roomName: string): Promise<RoomSnapshot | null> {
    this.maintain();
    const room = this.rooms.get(roomName);
    return room === undefined ? null : snapshotOf(room);
  }

  async memberCount(roomName: string): Promise<number> {
    this.maintain();
    return this.rooms.get(roomName)?.members.size ?? 0;
  }

  close(): void {
    this.closed = true;
  }

  /** Lapses expired leases, forgets expired empty rooms; returns the time it used. */
  private maintain(): number {
    if (this.closed) throw engineClosed();
    const now = this.now();
    for (const record of this.leases.takeLapsed(now)) {
      const room = this.rooms.get(record.room);
      if (room === undefined) continue;
      // Empty since the lease ended, not since we noticed: the room's ttl runs from then,
      // as in Redis. (A room emptied this way may sit behind rooms emptied later in the
      // expiry order below, so it can be forgotten a little late, never early.)
      this.detach(room, record, record.expiresAt);
      room.lapsed.add(record.connectionId);
    }
    this.emptySince.sweep(this.limits.roomTtlMs, now, this.forgetExpired);
    this.emptyUntouchedSince.sweep(this.untouchedTtl(), now, this.forgetExpired);
    return now;
  }

  /** An untouched room's ttl: the shorter one, unless the room ttl is shorter still. */
  private untouchedTtl(): number {
    const { roomTtlMs, untouchedRoomTtlMs } = this.limits;
    return roomTtlMs > 0 && roomTtlMs < untouchedRoomTtlMs ? roomTtlMs : untouchedRoomTtlMs;
  }

  /** A change to a room nobody changed before: it keeps the room ttl from now on. */
  private touch(name: string, room: MemoryRoom): void {
    if (!room.untouched) return;
    room.untouched = false;
    const since = this.emptyUntouchedSince.get(name);
    if (since === undefined) return;
    this.emptyUntouchedSince.delete(name);
    // Forgotten late rather than early if this breaks the map's time order.
    this.emptySince.set(name, since);
  }

  private attach(room: MemoryRoom, roomName: string, record: LeaseRecord, now: number): void {
    this.leases.add(record, now + this.limits.leaseTtlMs);
    if (room.members.size === 0) {
      this.activeRooms += 1;
      this.emptySince.delete(roomName);
      this.emptyUntouchedSince.delete(roomName);
    }
    room.members.add(record.connectionId);
    if (record.usernameKey !== null && !room.names.has(record.usernameKey)) room.names.set(record.usernameKey, record.connectionId);
  }

  /** Removes a lease that is no longer live from its room (the lease table is done already). */
  private detach(room: MemoryRoom, record: LeaseRecord, now: number): void {
    if (!room.members.delete(record.connectionId)) return;
    if (record.usernameKey !== null && room.names.get(record.usernameKey) === record.connectionId) room.names.delete(record.usernameKey);
    if (room.members.size === 0) {
      this.activeRooms -= 1;
      (room.untouched ? this.emptyUntouchedSince : this.emptySince).set(record.room, now);
    }
  }

  /** Ends a connection's lease, live or lapsed, for good. */
  private release(connectionId: string, now: number): void {
    const live = this.leases.removeLive(connectionId);
    if (live !== undefined) {
      const room = this.rooms.get(live.room);
      if (room !== undefined) this.detach(room, live, now);
      return;
    }
    const lapsed = this.leases.forgetLapsed(connectionId);
    if (lapsed !== undefined) this.rooms.get(lapsed.room)?.lapsed.delete(connectionId);
  }

  private forgetRoom(name: string): void {
    const room = this.rooms.get(name);
    this.emptySince.delete(name);
    this.emptyUntouchedSince.delete(name);
    this.rooms.delete(name);
    if (room === undefined) return;
    for (const id of room.lapsed) this.leases.forgetLapsed(id);
  }
}
