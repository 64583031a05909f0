/**
 * RoomStore on Redis. Each room's part of an operation is one Lua script on the room's slot
 * (atomic per room). The cluster-wide limits live on other slots, so a join first takes
 * those leases with small scripts of their own, then runs the room script, and gives back
 * what it newly took when the room refuses. Between those steps another join may briefly
 * see a slot taken that will be given back: the limits are exact within one lease period.
 */
import { randomBytes } from 'node:crypto';
import type {
  ChangeOptions,
  ChangeResult,
  EngineLimits,
  JoinRefusal,
  JoinRequest,
  JoinResult,
  Lease,
  LogEntry,
  RoomAction,
  RoomActionResult,
  RoomSnapshot,
  RoomStore,
  SetChange,
  SetManyOptions,
  SetOptions,
  SetResult,
  EngineStatusListener,
} from '../ports.ts';
import { ACTION_HISTORY_LENGTH, ACTION_HISTORY_TTL_MS, actionsAfter } from '../actions.ts';
import { DEFAULT_LOG_LENGTH, LOG_NAME_BYTES, LOG_VALUE_BYTES } from '../log.ts';
import { usernameKey } from '../moderation.ts';
import { activeRoomsKey, addressKey, roomKeys, roomScriptKeys } from './keys.ts';
import { parseActions, type LeaseAcquired } from './replies.ts';
import type { RedisClient, ScriptArg, Scripts } from './scripts.ts';
import { RoomEngineError } from '../errors.ts';
import { LOG_ENTRY_BASE_BYTES, ROOM_BASE_BYTES } from '../stored-bytes.ts';
import { RedisLedger, type LedgerGate } from './stored-bytes.ts';
import type { BanCheck } from './moderation.ts';

/** Lease sets are garbage-collected this long after their last write (they also self-prune). */
const LEASE_SET_GC_MARGIN_MS = 60_000;

const REFUSED = 0;
const TAKEN = 1;
/** Stands for "keep the room slot" where a give-back takes a lease-acquire answer. */
const HELD: LeaseAcquired = { status: 2, expiry: 0 };

/** Rooms whose key names are kept (a few hundred bytes each); beyond, the cache starts over. */
const KEY_CACHE_ROOMS = 10_000;

/** Tells a script to take `now` from Redis's TIME (clock.lua). */
const REDIS_CLOCK = -1;

export interface RedisStoreOptions {
  readonly client: RedisClient;
  readonly scripts: Scripts;
  readonly prefix: string;
  readonly limits: EngineLimits;
  /** An injected clock (tests); absent, every script reads Redis's TIME (one clock for all pods). */
  readonly now: (() => number) | undefined;
  /** Cluster: events go out with SPUBLISH on the room's shard. */
  readonly sharded: boolean;
  /** Bans and the run-time block list (moderation.ts), checked at every join with its leases. */
  readonly banCheck: BanCheck;
  /** Where a failed ledger charge is reported (it is not awaited by the set). */
  readonly report: EngineStatusListener;
}

/** What a join holds before its room script runs: the cluster-wide leases, and why it is barred (null: it is not). */
interface JoinLeases {
  readonly roomSlot: LeaseAcquired;
  readonly addressSlot: LeaseAcquired;
  readonly barred: JoinRefusal | null;
}

function freshEpoch(): string {
  return randomBytes(9).toString('base64url');
}

export function createRedisStore(options: RedisStoreOptions): RoomStore {
  const { client, scripts, prefix, limits } = options;
  const injected = options.now;
  const now = (): number => (injected ? injected() : REDIS_CLOCK);
  const gcMs = limits.leaseTtlMs * 2 + LEASE_SET_GC_MARGIN_MS;
  const roomsKey = activeRoomsKey(prefix);
  const sharded = options.sharded ? 1 : 0;
  // On one server every key is in reach of one script: the join renews its room's slot in join.lua.
  const renewsInScript = !options.sharded;
  const logLength = limits.logLength ?? DEFAULT_LOG_LENGTH;
  const ledger = new RedisLedger({ scripts, prefix, limits, now, localNow: injected ?? (() => performance.now()), report: options.report });

  // Every set would build the room's six key names anew: the pod's busy rooms keep theirs.
  const keyCache = new Map<string, readonly string[]>();
  function keysOf(room: string): readonly string[] {
    let keys = keyCache.get(room);
    if (keys === undefined) {
      if (keyCache.size >= KEY_CACHE_ROOMS) keyCache.clear();
      keys = roomScriptKeys(roomKeys(prefix, room));
      keyCache.set(room, keys);
    }
    return keys;
  }

  function acquire(key: string, member: string, max: number, at: number): Promise<LeaseAcquired> {
    return scripts['lease-acquire'](key, at, member, limits.leaseTtlMs, max, gcMs);
  }

  /**
   * The join's ban check and both cluster-wide leases, before the room decides: on one server
   * one script (a barred join takes no lease); in Cluster, where each is on a slot of its own,
   * three in one round trip (auto-pipelined), and a barred join gives its leases back.
   */
  async function leasesFor(request: JoinRequest, addrKey: string, at: number): Promise<JoinLeases> {
    const { banCheck } = options;
    if (!options.sharded) {
      return scripts['join-leases'](
        ...banCheck.scriptKeys,
        roomsKey,
        addrKey,
        at,
        ...banCheck.args(request),
        request.connectionId,
        limits.leaseTtlMs,
        limits.maxRooms,
        limits.maxConnectionsPerAddress,
        gcMs,
      );
    }
    const [roomSlot, addressSlot, barred] = await Promise.all([
      acquire(roomsKey, request.room, limits.maxRooms, at),
      acquire(addrKey, request.connectionId, limits.maxConnectionsPerAddress, at),
      banCheck.barred(request),
    ]);
    return { roomSlot, addressSlot, barred };
  }

  async function join(request: JoinRequest): Promise<JoinResult> {
    const { room, connectionId, address } = request;
    const keys = keysOf(room);
    const at = now();
    const addrKey = addressKey(prefix, address);
    const { roomSlot, addressSlot, barred } = await leasesFor(request, addrKey, at);
    if (barred !== null) {
      await giveBack(room, connectionId, addrKey, roomSlot, addressSlot);
      return { ok: false, reason: barred };
    }
    // Only a 2020 join stores anything (its declared names): only it is told the address's bound.
    const declaresNames = request.variables !== null && request.variables.length > 0;
    const gate = declaresNames ? ledger.gate(address) : '';
    const ledgerGate = typeof gate === 'string' ? gate : await gate;
    const args: (string | number)[] = [
      at,
      connectionId,
      request.claimUsername ? request.username.toLowerCase() : '',
      limits.leaseTtlMs,
      limits.roomTtlMs,
      request.maxClientsPerRoom ?? limits.maxClientsPerRoom,
      roomSlot.status === REFUSED ? 0 : 1,
      addressSlot.status === REFUSED ? 0 : 1,
      freshEpoch(),
      request.variables === null ? 0 : 1,
      request.mayCreate === false ? 0 : 1,
      limits.untouchedRoomTtlMs,
      sharded,
      request.maxVariables ?? limits.maxVariables,
      request.maxRoomBytes ?? limits.maxRoomBytes,
      request.username,
      logLength,
      LOG_NAME_BYTES,
      LOG_VALUE_BYTES,
      ledgerGate,
      ROOM_BASE_BYTES,
      LOG_ENTRY_BASE_BYTES,
      // On one server the room script renews a slot this join did not take anew (join.lua).
      renewsInScript && roomSlot.status !== TAKEN ? room : '',
      gcMs,
    ];
    for (const [name, value] of request.variables ?? []) args.push(name, value);
    let reply;
    try {
      reply = renewsInScript ? await scripts['join-renewing'](...keys, roomsKey, ...args) : await scripts.join(...keys, ...args);
    } catch (error) {
      await giveBack(room, connectionId, addrKey, roomSlot, addressSlot);
      throw error;
    }
    if (reply.ok) {
      // The room has live members now. Its slot is refreshed unless this join took it anew:
      // a refused join or a last leave on another pod may have given it back meanwhile.
      ledger.charge(address, room, reply.charge);
      if (!renewsInScript && roomSlot.status !== TAKEN) await renewLeaseSet(roomsKey, [room], at);
      return { ok: true, outcome: reply.outcome, snapshot: reply.snapshot };
    }
    await giveBack(room, connectionId, addrKey, reply.live === 0 ? roomSlot : HELD, addressSlot);
    return { ok: false, reason: reply.reason };
  }

  /** What a refused or failed join took anew goes back; the room slot only if nobody refreshed it since. */
  function giveBack(room: string, connectionId: string, addrKey: string, roomSlot: LeaseAcquired, addressSlot: LeaseAcquired): Promise<void> {
    return release(room, connectionId, addrKey, roomSlot.status === TAKEN ? roomSlot.expiry : null, addressSlot.status === TAKEN);
  }

  /**
   * Gives back the room's slot if its expiry is still at most `roomSlotUntil` (a join on
   * another pod that took it since set a later one, and keeps it), and the connection's
   * address slot (its own: no one else can hold it).
   */
  async function release(room: string, connectionId: string, addrKey: string, roomSlotUntil: number | null, addressSlot: boolean): Promise<void> {
    const pending: Promise<unknown>[] = [];
    if (roomSlotUntil !== null) pending.push(scripts['lease-release'](roomsKey, room, roomSlotUntil));
    if (addressSlot) pending.push(client.zrem(addrKey, connectionId));
    await Promise.all(pending);
  }

  async function renewLeaseSet(key: string, members: readonly string[], at: number): Promise<void> {
    await scripts['lease-renew'](key, at, limits.leaseTtlMs, gcMs, ...members);
  }

  async function set(room: string, origin: string, variable: string, value: string, setOptions: SetOptions = {}): Promise<SetResult> {
    const [result] = await runSets(room, origin, [variable, value, setOptions.increasing === true ? 1 : 0], setOptions);
    if (result === undefined) throw new RoomEngineError('CV_ERR_REDIS_REPLY', 'set.lua answered no result for its set');
    return result;
  }

  async function setMany(room: string, origin: string, changes: readonly SetChange[], setOptions: SetManyOptions = {}): Promise<readonly SetResult[]> {
    if (changes.length === 0) return [];
    return runSets(
      room,
      origin,
      changes.flatMap(({ variable, value, increasing }) => [variable, value, increasing === true ? 1 : 0]),
      setOptions,
    );
  }

  /** set.lua on `triples` (variable, value, increasing per set), told the setter's ledger. */
  function runSets(room: string, origin: string, triples: readonly ScriptArg[], setOptions: SetManyOptions): Promise<readonly SetResult[]> {
    // Nearly always issued at once: no extra await on the set path (stored-bytes.ts).
    return ledger.inOrder(origin, setOptions.address, (gate) => runGated(room, origin, triples, setOptions, gate));
  }

  async function runGated(
    room: string,
    origin: string,
    triples: readonly ScriptArg[],
    setOptions: SetManyOptions,
    gate: LedgerGate,
  ): Promise<readonly SetResult[]> {
    const create = setOptions.create === true ? 1 : 0;
    const user = setOptions.user ?? '';
    const maxVariables = setOptions.maxVariables ?? limits.maxVariables;
    const maxRoomBytes = setOptions.maxRoomBytes ?? limits.maxRoomBytes;
    const reply = await scripts.set(
      ...keysOf(room),
      now(),
      origin,
      sharded,
      create,
      maxVariables,
      maxRoomBytes,
      user,
      logLength,
      LOG_VALUE_BYTES,
      limits.roomTtlMs,
      LOG_NAME_BYTES,
      gate,
      ROOM_BASE_BYTES,
      LOG_ENTRY_BASE_BYTES,
      ...triples,
    );
    if (reply.results.length * 3 !== triples.length)
      throw new RoomEngineError('CV_ERR_REDIS_REPLY', `set.lua answered ${reply.results.length} results for ${triples.length / 3} sets`);
    ledger.charge(setOptions.address, room, reply.charge);
    return reply.results;
  }

  function rename(room: string, origin: string, variable: string, newName: string, changeOptions: ChangeOptions = {}): Promise<ChangeResult> {
    return ledger.inOrder(origin, changeOptions.address, (gate) => renameGated(room, origin, variable, newName, changeOptions, gate));
  }

  async function renameGated(
    room: string,
    origin: string,
    variable: string,
    newName: string,
    changeOptions: ChangeOptions,
    gate: LedgerGate,
  ): Promise<ChangeResult> {
    const user = changeOptions.user ?? '';
    const reply = await scripts.rename(
      ...keysOf(room),
      now(),
      origin,
      variable,
      newName,
      sharded,
      limits.maxRoomBytes,
      user,
      logLength,
      LOG_NAME_BYTES,
      limits.roomTtlMs,
      gate,
      ROOM_BASE_BYTES,
      LOG_ENTRY_BASE_BYTES,
    );
    ledger.charge(changeOptions.address, room, reply.charge);
    return reply.result;
  }

  function remove(room: string, origin: string, variable: string, changeOptions: ChangeOptions = {}): Promise<ChangeResult> {
    // A delete grows nothing (no gate), but keeps its place behind the connection's waiting changes.
    return ledger.inOrder(origin, undefined, () =>
      scripts.delete(...keysOf(room), now(), origin, variable, sharded, changeOptions.user ?? '', logLength, limits.roomTtlMs, LOG_NAME_BYTES),
    );
  }

  function log(room: string, limit: number): Promise<readonly LogEntry[] | null> {
    // The stream holds about logLength entries (trimmed in whole nodes): answer exactly the newest logLength.
    return scripts.log(...keysOf(room), now(), Math.max(0, Math.min(Math.floor(limit), logLength)));
  }

  async function deleteRoom(room: string, origin: string): Promise<RoomActionResult> {
    const result = await scripts['delete-room'](...keysOf(room), now(), origin, sharded, ACTION_HISTORY_LENGTH, ACTION_HISTORY_TTL_MS);
    // The active-room slot lives on its own slot (Cluster): given back right after.
    if (result.ok) await client.zrem(roomsKey, room);
    return result;
  }

  function kick(room: string, origin: string, username: string): Promise<RoomActionResult> {
    return scripts.kick(...keysOf(room), now(), origin, usernameKey(username), sharded, ACTION_HISTORY_LENGTH, ACTION_HISTORY_TTL_MS);
  }

  async function catchUp(room: string, epoch: string, afterSeq: number): Promise<readonly RoomAction[]> {
    // One list on the room's slot, read whole (at most ACTION_HISTORY_LENGTH payloads): no script needed.
    return actionsAfter(parseActions(room, await client.lrange(roomKeys(prefix, room).actions, 0, -1)), epoch, afterSeq);
  }

  async function leave(lease: Lease): Promise<void> {
    const { live, at } = await scripts.leave(...keysOf(lease.room), now(), lease.connectionId, limits.leaseTtlMs, limits.roomTtlMs);
    ledger.left(lease);
    // Renewals up to the leave set expiries up to its time + a lease; a join since, later ones.
    await release(lease.room, lease.connectionId, addressKey(prefix, lease.address), live === 0 ? at + limits.leaseTtlMs : null, true);
  }

  /**
   * Every command is issued in one tick, so auto-pipelining sends them as one batch per node
   * (in Cluster, where it is off, they are still written back to back).
   */
  async function renew(leases: readonly Lease[]): Promise<readonly Lease[]> {
    if (leases.length === 0) return [];
    ledger.renewed(leases);
    const at = now();
    const byRoom = new Map<string, Lease[]>();
    const byAddress = new Map<string, string[]>();
    // Appended in place: a copy per lease would cost time and garbage quadratic in the
    // leases of one room or one address (10,000 clients of one address: 50 million copies).
    for (const lease of leases) {
      const ofRoom = byRoom.get(lease.room);
      if (ofRoom === undefined) byRoom.set(lease.room, [lease]);
      else ofRoom.push(lease);
      const key = addressKey(prefix, lease.address);
      const ofAddress = byAddress.get(key);
      if (ofAddress === undefined) byAddress.set(key, [lease.connectionId]);
      else ofAddress.push(lease.connectionId);
    }
    const rooms = [...byRoom].map(async ([room, ofRoom]) => {
      const pairs = ofRoom.flatMap((lease) => [lease.connectionId, lease.usernameKey ?? '']);
      // One room's leases on one pod are built from the same policy: the first's capacity is the room's.
      const capacity = ofRoom[0]?.maxClientsPerRoom ?? limits.maxClientsPerRoom;
      const lostIds = new Set(await scripts.renew(...keysOf(room), at, limits.leaseTtlMs, limits.roomTtlMs, capacity, ...pairs));
      return ofRoom.filter((lease) => lostIds.has(lease.connectionId));
    });
    const leaseSets = [renewLeaseSet(roomsKey, [...byRoom.keys()], at), ...[...byAddress].map(([key, ids]) => renewLeaseSet(key, ids, at))];
    const [lost] = await Promise.all([Promise.all(rooms), Promise.all(leaseSets)]);
    return lost.flat();
  }

  async function snapshot(room: string): Promise<RoomSnapshot | null> {
    return scripts.snapshot(...keysOf(room), now());
  }

  async function memberCount(room: string): Promise<number> {
    return scripts.members(...keysOf(room), now());
  }

  return { join, set, setMany, rename, delete: remove, leave, renew, snapshot, catchUp, memberCount, log, deleteRoom, kick };
}
