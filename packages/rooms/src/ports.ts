/**
 * The two roles a room engine plays, and the contract every implementation keeps
 * (in memory for one node, Redis for a cluster). `test/contract/describe-room-engine.ts` checks this contract
 * against every implementation; read it as the executable form of these comments.
 *
 * The engine knows nothing of WebSockets or the wire format: variable values are opaque
 * strings that the gateway has already validated.
 */

/** One variable of a room: [name, value]. Arrays keep names like `__proto__` as plain data. */
export type VariableEntry = readonly [name: string, value: string];

/**
 * A change the store applied to a room. `seq` increases by exactly one per applied change
 * within one `epoch` of a room; a new epoch (room created anew, or lost by the store)
 * restarts the count, so consumers compare (epoch, seq) pairs, never seq alone. A join that
 * changes a room (a 2020 migration, names added for a 2020 client) publishes its changes as
 * ordinary events, so every pod mirroring the room follows it.
 */
interface RoomEventBase {
  readonly room: string;
  readonly epoch: string;
  readonly seq: number;
  /** The connection id that made the change (so its own pod can recognise its echo), or an operator's origin. */
  readonly origin: string;
}

/** An event about one variable. */
interface VariableEventBase extends RoomEventBase {
  readonly variable: string;
}

/** A variable took a value (created it, when the set was allowed to create). */
export interface SetEvent extends VariableEventBase {
  readonly type: 'set';
  readonly value: string;
}

/** A variable was renamed, keeping its value. */
export interface RenameEvent extends VariableEventBase {
  readonly type: 'rename';
  readonly newName: string;
}

/** A variable was removed from the room. */
export interface DeleteEvent extends VariableEventBase {
  readonly type: 'delete';
}

/**
 * An operator asked every connection of the room that uses `username` (compared
 * case-insensitively) to leave. It changes no variable; it takes its place in the room's
 * order like a change, so a pod delivers it after every change applied before it.
 */
export interface KickEvent extends RoomEventBase {
  readonly type: 'kick';
  /** Lower-cased. */
  readonly username: string;
  /** Not about a variable (declared so code reading `event.variable` of any event still compiles). */
  readonly variable?: undefined;
}

/**
 * The room was deleted by an operator: its variables, log and leases are gone. The last
 * event of its epoch; a later join creates the room anew, in a new epoch.
 */
export interface RoomDeletedEvent extends RoomEventBase {
  readonly type: 'room-deleted';
  /** Not about a variable (see KickEvent). */
  readonly variable?: undefined;
}

export type VariableEvent = SetEvent | RenameEvent | DeleteEvent;
/** An operator's action: it changes nothing a snapshot holds, so the store keeps it for catch-up reads (RoomStore.catchUp). */
export type RoomAction = KickEvent | RoomDeletedEvent;
export type RoomEvent = VariableEvent | RoomAction;

/** The state of a room at one point of its order: every variable, as of `seq` in `epoch`. */
export interface RoomSnapshot {
  readonly epoch: string;
  readonly seq: number;
  readonly variables: readonly VariableEntry[];
}

export interface JoinRequest {
  readonly room: string;
  /** Unique across the cluster (the gateway makes it from a pod id and a counter). */
  readonly connectionId: string;
  /** As the client sent it; the store compares usernames case-insensitively. */
  readonly username: string;
  /**
   * Whether the username must be free in the room and is held while the lease lives.
   * False (Scratch 3 clients: generated names, one person in two tabs): it is not checked
   * and does not stop anyone else from using it.
   */
  readonly claimUsername: boolean;
  /**
   * The variables a 2020 client declared, in its order, values already validated (invalid
   * ones replaced by "0"). Null: the client declares none (Scratch 3 clients) and takes the
   * room as it is, created empty if it does not exist.
   *
   * Rooms of both eras (docs/PROTOCOL.md, "Mixed rooms"): a room created by a declaring
   * join is *2020-only* until anything but a 2020 client writes to it (a set that may create,
   * a rename, a delete: today's clients and operators); then it is *shared* for good, as is
   * a room created by a join that declares none (and, in Redis, a room stored before the
   * store told them apart: nothing is known of who wrote to it).
   * - 2020-only: the room's names must equal these. They differ: refused
   *   (`variables-mismatch`) while another member is live, else the room is migrated.
   * - shared: never refused for names and never deletes: the declared names the room lacks
   *   are added with their values (outcome `extended`); the others stay, and the client is
   *   simply not shown them.
   *
   * Byte budget: names a join stores (a creation's, a migration's or an extension's new ones)
   * each take their declared value while the room stays within `maxRoomBytes`, in the
   * declared order, and "0" where it would not (as the spec stores an invalid one); refused
   * (`over-budget`) when they do not fit even with "0", and (`too-many-variables`) when the
   * room would hold more than `maxVariables`.
   */
  readonly variables: readonly VariableEntry[] | null;
  /** The client's address, for the per-address connection limit. */
  readonly address: string;
  /**
   * False: the join is refused (`room-creation-limit`) if the room does not exist, instead
   * of creating it (the caller's address created too many rooms lately). Default true.
   */
  readonly mayCreate?: boolean;
  /**
   * The project's own limits (its policy), instead of the engine's, for this join: the room
   * is full at `maxClientsPerRoom` live members, and the names it would store are judged
   * against `maxVariables` and `maxRoomBytes`. Absent: the engine's (EngineLimits).
   */
  readonly maxClientsPerRoom?: number;
  readonly maxVariables?: number;
  readonly maxRoomBytes?: number;
}

export type JoinRefusal =
  /** The username is banned (Moderation.ban), in this room or everywhere, and the ban has not lapsed. */
  | 'banned-username'
  /** The client's address is banned, in this room or everywhere, and the ban has not lapsed. */
  | 'banned-address'
  /** The username contains a word of the block list that operators change at run time (Moderation.blockWord). */
  | 'blocked-username'
  /** Another live connection in the room holds this username (case-insensitively). */
  | 'username-taken'
  /** The room already has `maxClientsPerRoom` live members (the request's, else the engine's). */
  | 'room-full'
  /** The room is not active and the cluster already has `maxRooms` active rooms. */
  | 'too-many-rooms'
  /** The address already holds `maxConnectionsPerAddress` live connections. */
  | 'address-limit'
  /** The room's variable names differ from the request's and other clients are connected. */
  | 'variables-mismatch'
  /** The room does not exist and the request may not create one (`mayCreate: false`). */
  | 'room-creation-limit'
  /** The names the join would store do not fit `maxRoomBytes`, even each with "0". */
  | 'over-budget'
  /** The room would hold more than `maxVariables` with the names the join would store. */
  | 'too-many-variables'
  /**
   * The names and values a 2020 join would store (a creation's, a migration's or an
   * extension's) would grow the room while the address is at `maxStoredBytesPerAddress`;
   * a join that stores nothing new (every join of today's clients) is never refused so.
   */
  | 'address-bytes';

/**
 * created: the room did not exist and now holds the request's variables (none if null),
 *   within the byte budget (see JoinRequest.variables); nothing is published.
 * joined: the room had every declared name (2020-only: exactly those; or the request
 *   declared none); nothing was changed.
 * migrated: a 2020-only room had other names and nobody was connected, so shared names kept
 *   their stored values, new names took the request's, removed ones went: published as a
 *   DeleteEvent per removed name, then a SetEvent per new one, logged as the joiner's.
 * extended: a shared room lacked some declared names: they were added, each published as a
 *   SetEvent and logged as the joiner's; nothing else changed.
 * The snapshot is the room after the join's changes.
 */
export type JoinOutcome = 'created' | 'joined' | 'migrated' | 'extended';

export type JoinResult =
  { readonly ok: true; readonly outcome: JoinOutcome; readonly snapshot: RoomSnapshot } | { readonly ok: false; readonly reason: JoinRefusal };

/**
 * Why the store refused a change; nothing was stored or published.
 * unknown-room, unknown-variable: it does not exist (any more).
 * too-many-variables: creating the variable would exceed `maxVariables`.
 * over-budget: the change would grow the room's names and values beyond `maxRoomBytes`.
 * name-taken: a rename's new name is already a variable of the room.
 */
/** `not-increasing`: a set with `SetOptions.increasing` whose value is no number above the stored one. */
/**
 * `address-bytes`: a set from an address at `maxStoredBytesPerAddress` (SetOptions.address)
 * that would raise the room's charged size (stored-bytes.ts); a set that does not applies.
 */
export type ChangeRefusal = 'unknown-room' | 'unknown-variable' | 'too-many-variables' | 'over-budget' | 'name-taken' | 'not-increasing' | 'address-bytes';

export type SetResult = { readonly ok: true; readonly seq: number } | { readonly ok: false; readonly reason: Exclude<ChangeRefusal, 'name-taken'> };

export type ChangeResult = { readonly ok: true; readonly seq: number } | { readonly ok: false; readonly reason: ChangeRefusal };

export interface ChangeOptions {
  /**
   * Who made the change, as the room's log shows it: the client's username, or an
   * operator's name. Absent: logged as ''.
   */
  readonly user?: string;
  /**
   * The changer's address as limits count it: what a set or rename grows the room's charged
   * size by is charged to it, and while it is at `EngineLimits.maxStoredBytesPerAddress` one
   * that would grow it is refused (`address-bytes`). Absent (an operator): not charged, never refused.
   */
  readonly address?: string;
}

export interface SetOptions extends ChangeOptions {
  /**
   * Create the variable if the room does not have it (Scratch 3 clients and operators
   * declare no names), within `maxVariables`. False (2020 clients): an unknown variable is
   * refused. An applied set that may create makes the room shared (JoinRequest.variables).
   */
  readonly create?: boolean;
  /**
   * "Only increases" (a project policy's rule, e.g. a high score): the set applies only when
   * its value is a decimal number (optional `-`, digits with at most one `.`, an optional
   * exponent; finite as a double) above the stored value read as one. A string's mark
   * (U+0001, the protocol's stored-value codec) is no part of the number: a Scratch 3
   * client's JSON string "99" is 99 here, on both sides, as the range rule reads it. A variable not yet
   * stored, or whose stored value is no such number, takes any such number. Checked in the
   * same atomic step that applies the set, so concurrent writers on every pod cannot lower
   * it; refused with `not-increasing`.
   */
  readonly increasing?: boolean;
  /** The project's own limits (its policy), instead of the engine's `maxVariables` and `maxRoomBytes`, for this set. */
  readonly maxVariables?: number;
  readonly maxRoomBytes?: number;
}

/** One change of a `RoomStore.setMany` batch: its variable, value and whether its value must increase (SetOptions.increasing). */
export interface SetChange {
  readonly variable: string;
  readonly value: string;
  readonly increasing?: boolean;
}

/** What every change of a `setMany` batch shares: SetOptions but `increasing`, which each change carries. */
export type SetManyOptions = Omit<SetOptions, 'increasing'>;

/**
 * One change in a room's cloud log, in the shape of Scratch's cloud log. Appended by the
 * same atomic step that applies the change, so the log's order is the room's order.
 */
export interface LogEntry {
  /** `ChangeOptions.user` of the change. */
  readonly user: string;
  readonly verb: 'set' | 'rename' | 'delete';
  /** The variable (for a rename, its old name), cut to its first `LOG_NAME_BYTES` bytes of UTF-8. */
  readonly name: string;
  /**
   * set: the value, cut to its first `LOG_VALUE_BYTES` bytes of UTF-8 (on a character
   * boundary): the room keeps the whole value, the log only what identifies it.
   * rename: the new name, cut like `name`. delete: ''.
   */
  readonly value: string;
  /** When the store applied it: ms since the Unix epoch, on the engine's clock. */
  readonly timestamp: number;
}

/** Why an operator's deleteRoom or kick changed nothing: the room does not exist. */
export type RoomActionResult = { readonly ok: true; readonly seq: number } | { readonly ok: false; readonly reason: 'unknown-room' };

/** What one pod holds and must keep alive: one entry per joined connection. */
export interface Lease {
  readonly room: string;
  readonly connectionId: string;
  readonly address: string;
  /** The lower-cased username the lease holds in its room, or null when it claimed none. */
  readonly usernameKey: string | null;
  /**
   * The room's capacity now (its project's policy: JoinRequest.maxClientsPerRoom), which a
   * lapsed lease may come back into at renewal; absent: the engine's maxClientsPerRoom.
   */
  readonly maxClientsPerRoom?: number;
}

export interface EngineLimits {
  readonly maxClientsPerRoom: number;
  /** Variables a room may hold; a set that would create one more is refused. */
  readonly maxVariables: number;
  /**
   * Bytes (UTF-8) of a room's names and values together, so one room cannot fill the store.
   * Held on every way in: a set or rename that would grow the room beyond it is refused, and
   * a join stores names within it (JoinRequest.variables). A change that does not grow the
   * room always applies, so a room over it (filled before it was lowered) can shrink.
   */
  readonly maxRoomBytes: number;
  readonly maxRooms: number;
  readonly maxConnectionsPerAddress: number;
  /** A lease not renewed within this many ms lapses, freeing its username and slots. */
  readonly leaseTtlMs: number;
  /** An empty room is forgotten this many ms after its last member left; 0 = never. */
  readonly roomTtlMs: number;
  /**
   * A room nobody changed since it was created (no value other than its initial ones, no
   * rename or delete) is forgotten this many ms after its last member left, instead of
   * `roomTtlMs`, so rooms made and left in a loop do not pile up; 0 = `roomTtlMs`.
   */
  readonly untouchedRoomTtlMs: number;
  /**
   * Changes each room's log keeps, newest first (in Redis about this many: the stream is
   * trimmed in whole nodes); 0 keeps none. Default DEFAULT_LOG_LENGTH (log.ts).
   */
  readonly logLength?: number;
  /**
   * Bytes the sets of one address may have grown rooms by, as the address's ledger counts
   * them (stored-bytes.ts): at it, a set from the address that would grow a room further is
   * refused (`address-bytes`). Absent or 0: no limit.
   */
  readonly maxStoredBytesPerAddress?: number;
}

/**
 * Rooms and their variables, usernames and the cluster-wide limits.
 * Every method is atomic per room: join, set and leave each take effect at one point of
 * the room's order.
 */
export interface RoomStore {
  /**
   * Checks, in this order, bans and the run-time block list (Moderation), username, room
   * capacity, active-room and per-address limits, variable names, then the names it would
   * store against `maxVariables` and `maxRoomBytes`; a refused join changes nothing. On
   * success applies the join's changes to the room (JoinOutcome), records a lease for the
   * connection (expiring after `leaseTtlMs` unless renewed) and returns the room's snapshot,
   * as one atomic step. The caller must already be subscribed to the room on its bus, so
   * that every event after the snapshot's seq reaches it (gap-free join).
   */
  join(request: JoinRequest): Promise<JoinResult>;

  /**
   * Stores the value, appends it to the room's log and publishes a SetEvent on the room's
   * bus, as one atomic step: the order of events on the bus, and of the log, is the order
   * the store applied the changes.
   */
  set(room: string, origin: string, variable: string, value: string, options?: SetOptions): Promise<SetResult>;

  /**
   * Several sets of one origin in one room, as one atomic step: each change is judged and
   * applied as `set` would at its turn, in order (a later one sees the earlier ones; one
   * refused changes nothing and the next is still tried), and each applied one is stored,
   * logged and published as its own SetEvent with the next seq. Answers each change's result,
   * in order. In Redis: one script call and one publish for the batch (a pod's writes to a
   * room within one tick), where as many `set` calls cost one of each per change.
   */
  setMany(room: string, origin: string, changes: readonly SetChange[], options?: SetManyOptions): Promise<readonly SetResult[]>;

  /** Renames a variable, keeping its value, logs it and publishes a RenameEvent, as one atomic step; the room becomes shared. */
  rename(room: string, origin: string, variable: string, newName: string, options?: ChangeOptions): Promise<ChangeResult>;

  /** Removes a variable, logs it and publishes a DeleteEvent, as one atomic step; the room becomes shared. */
  delete(room: string, origin: string, variable: string, options?: ChangeOptions): Promise<ChangeResult>;

  /**
   * The room's log, newest first, at most `limit` entries; null when the room does not
   * exist. A log lives and expires with its room.
   */
  log(room: string, limit: number): Promise<readonly LogEntry[] | null>;

  /**
   * Publishes a RoomDeletedEvent and removes the room (variables, log, leases, usernames and
   * its active-room slot), as one atomic step in the room's order. Connections still in it
   * are closed by their pods on the event; their leaves are then no-ops.
   */
  deleteRoom(room: string, origin: string): Promise<RoomActionResult>;

  /**
   * Publishes a KickEvent for `username` (any case) in the room's order. The store changes
   * nothing else: the pods close the matching connections, which then leave as usual.
   */
  kick(room: string, origin: string, username: string): Promise<RoomActionResult>;

  /** Releases the connection's lease, username and slots. Idempotent. */
  leave(lease: Lease): Promise<void>;

  /**
   * Extends every given lease by `leaseTtlMs` in one round trip, and returns the ones it
   * could not: the lease is gone (it left, or lapsed long enough to be pruned), its room is
   * gone (expired, or lost by the store), or it lapsed and cannot come back as it was (the
   * room filled up, or another connection took its username meanwhile). A lapsed lease that
   * can come back is restored, with its slots and username. The owner must not keep a
   * connection whose lease was lost: it would count nowhere and hold nothing.
   */
  renew(leases: readonly Lease[]): Promise<readonly Lease[]>;

  /** The room's current state, or null when it does not exist. */
  snapshot(room: string): Promise<RoomSnapshot | null>;

  /**
   * The operator actions (kicks, the room's deletion) of `epoch` after `afterSeq`, in the
   * room's order: for a pod that re-read the room's snapshot after losing events, since a
   * snapshot covers an action's seq and holds nothing of it. deleteRoom and kick keep each
   * action in the same atomic step that publishes it; the room keeps its latest
   * ACTION_HISTORY_LENGTH for ACTION_HISTORY_TTL_MS after the latest (actions.ts), also once
   * the room is gone (its deletion outlives it), so a read after a longer outage misses some.
   */
  catchUp(room: string, epoch: string, afterSeq: number): Promise<readonly RoomAction[]>;

  /** Live members of a room, for operators and tests. */
  memberCount(room: string): Promise<number>;
}

/** Receives what the bus delivers. Called synchronously from the bus's reader; must not block. */
export interface BusListener {
  /** Events of one room arrive in store order; events may be lost only across a `resync`. */
  onEvent(event: RoomEvent): void;
  /**
   * The bus may have lost events of every subscribed room (it reconnected): the listener
   * must re-read the snapshots of the rooms it cares about.
   */
  onResync(): void;
}

/**
 * Delivers each room's events to the pods subscribed to it. One subscription per room per
 * bus; reference counting is the caller's job.
 */
export interface RoomBus {
  /** Sets the single listener; call once, before subscribing. */
  listen(listener: BusListener): void;
  /** Resolves once events of these rooms published from now on will be delivered. */
  subscribe(rooms: readonly string[]): Promise<void>;
  unsubscribe(rooms: readonly string[]): Promise<void>;
  /**
   * Publishes a probe to itself through the same path events take and resolves true when
   * it comes back within `timeoutMs`: a bus that silently stopped delivering answers false.
   */
  probe(timeoutMs: number): Promise<boolean>;
}

/** What one `WindowCounters.hit` found. */
export interface HitResult {
  /** True when this hit is within the window's allowance. */
  readonly allowed: boolean;
  /** Hits of the key in the current window, this one included. */
  readonly count: number;
  /** Milliseconds until the window ends and the count starts again. */
  readonly resetInMs: number;
}

/**
 * Counters of hits per key in fixed windows, shared by every pod of the cluster: rate limits
 * that hold whichever pod a client reaches (handshakes or new rooms per address, API calls).
 * Keys are opaque strings chosen by the caller (prefixed by the engine like every key).
 */
export interface WindowCounters {
  /**
   * Counts one hit of `key` in the window of `windowMs` that contains now (the window starts
   * at the key's first hit) and says whether the count is at most `max`. Hits beyond `max`
   * still count, so a caller that keeps hitting stays refused until the window ends.
   */
  hit(key: string, windowMs: number, max: number): Promise<HitResult>;
  /**
   * Takes back one hit of `key` in its current window (a hit reserved for something that
   * did not happen); nothing when the window ended or holds none.
   */
  refund(key: string): Promise<void>;
}

export type BanKind = 'username' | 'address';

/** What a ban applies to. */
export interface BanTarget {
  readonly kind: BanKind;
  /** A username (stored lower-cased: bans compare case-insensitively), or an address (canonicalAddress in moderation.ts). */
  readonly value: string;
  /** The room it applies to, or null for every room. */
  readonly room: string | null;
}

export interface Ban extends BanTarget {
  /** ms since the Unix epoch, on the engine's clock. */
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Who banned (an operator's name). */
  readonly by: string;
  readonly reason: string;
}

export interface BanRequest extends BanTarget {
  /** How long the ban holds, from now. */
  readonly ttlMs: number;
  readonly by: string;
  readonly reason: string;
}

export type BanResult = { readonly ok: true; readonly ban: Ban } | { readonly ok: false; readonly reason: 'too-many-bans' };

/** What blockWord did: added, already there, or refused because the list holds MAX_BLOCKED_WORDS. */
export type BlockWordResult = 'added' | 'present' | 'list-full';

/**
 * Bans and the username block list that operators change at run time, shared by every pod.
 * `RoomStore.join` checks both, first, at every handshake (JoinRefusal 'banned-username',
 * 'banned-address', 'blocked-username'); clients already in a room are not affected (an
 * operator kicks them). A ban lapses by itself at `expiresAt`.
 */
export interface Moderation {
  /** Bans the target until now + ttlMs (replacing a ban of the same target). At most MAX_BANS live bans. */
  ban(request: BanRequest): Promise<BanResult>;
  /** Lifts a ban; false when no live ban of that target existed. */
  unban(target: BanTarget): Promise<boolean>;
  /** Every live ban, the soonest to lapse first. */
  bans(): Promise<readonly Ban[]>;
  /** The run-time block list, sorted. Words are lower-cased. */
  blockedWords(): Promise<readonly string[]>;
  blockWord(word: string): Promise<BlockWordResult>;
  /** False when the word was not on the list. */
  unblockWord(word: string): Promise<boolean>;
}

/** What ProjectPolicies.put did: stored, or refused because MAX_POLICIES rooms have one. */
export type PutPolicyResult = 'stored' | 'too-many-policies';

/** Every stored policy at one moment, with the version (see ProjectPolicies.version) it was read at. */
export interface PolicyTable {
  readonly version: string;
  /** room -> the policy's text, as put. */
  readonly policies: ReadonlyMap<string, string>;
}

/**
 * Per-project policies that operators set at run time, shared by every pod, kept without
 * expiry (Redis: with the store's persistence, so across restarts). The engine keeps each
 * one as opaque text: the gateway validates what it puts and parses what it reads. A room's
 * policy outlives the room (deleteRoom keeps it): it is about the project, not its data.
 */
export interface ProjectPolicies {
  /** The room's policy, or null. */
  get(room: string): Promise<string | null>;
  /**
   * Replaces the room's policy and tells every engine of the cluster (watch). At most
   * MAX_POLICIES rooms hold one (about: two operators racing for the last place may both get it).
   */
  put(room: string, policy: string): Promise<PutPolicyResult>;
  /** Removes the room's policy and tells every engine; false when it had none. */
  delete(room: string): Promise<boolean>;
  /** Every policy, read at one point of their order. */
  all(): Promise<PolicyTable>;
  /**
   * Changes with every put and delete (opaque: compare for equality; it may go back when a
   * store without persistence restarted). A reader that polls it and calls `all` when it
   * differs catches whatever `watch` lost.
   */
  version(): Promise<string>;
  /**
   * Calls `listener` with each room whose policy was put or deleted through any engine of
   * the cluster, soon after (Redis: pub/sub, so a notice may be lost while the connection
   * is down; poll `version` as a safety net). Call once, before the changes it must see.
   */
  watch(listener: (room: string) => void): void;
}

/** A store and its bus, sharing one backend. Created by a factory; closed once. */
export interface RoomEngine {
  readonly kind: 'memory' | 'redis';
  readonly store: RoomStore;
  readonly bus: RoomBus;
  readonly counters: WindowCounters;
  readonly moderation: Moderation;
  readonly policies: ProjectPolicies;
  /** True while the backend is reachable (always true in memory). */
  isConnected(): boolean;
  close(): Promise<void>;
}

/** Which part of an engine a status event is about: the store's connection or the bus's. */
export type EngineRole = 'store' | 'bus';

/**
 * What an engine reports through its `onStatus` callback, whichever the implementation;
 * the gateway maps each to a log line and a metric.
 */
export type EngineStatusEvent =
  /** A connection error, or a failure the engine handled itself (`code` says which). */
  | { readonly type: 'error'; readonly role: EngineRole; readonly code: string; readonly error: Error }
  /** A connection is down and will retry after `delayMs`. */
  | { readonly type: 'reconnecting'; readonly role: EngineRole; readonly delayMs: number }
  /** A connection is (again) ready for commands. */
  | { readonly type: 'ready'; readonly role: EngineRole }
  /** The subscription came back after a loss; the listener was told to resync. */
  | { readonly type: 'resync' }
  /** A message on a room channel that is not an event of this engine (version skew?). */
  | { readonly type: 'malformed-event'; readonly channel: string };

export type EngineStatusListener = (event: EngineStatusEvent) => void;
