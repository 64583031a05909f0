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
 * within one `epoch` of a room; a new epoch (room created anew, migrated, or lost by the
 * store) restarts the count, so consumers compare (epoch, seq) pairs, never seq alone.
 */
interface RoomEventBase {
  readonly room: string;
  readonly epoch: string;
  readonly seq: number;
  /** The connection id that made the change (so its own pod can recognise its echo). */
  readonly origin: string;
  readonly variable: string;
}

/** A variable took a value (created it, when the set was allowed to create). */
export interface SetEvent extends RoomEventBase {
  readonly type: 'set';
  readonly value: string;
}

/** A variable was renamed, keeping its value. */
export interface RenameEvent extends RoomEventBase {
  readonly type: 'rename';
  readonly newName: string;
}

/** A variable was removed from the room. */
export interface DeleteEvent extends RoomEventBase {
  readonly type: 'delete';
}

export type RoomEvent = SetEvent | RenameEvent | DeleteEvent;

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
   * The client's variables, values already validated (invalid ones replaced by "0"); the
   * room's names must equal these. Null: the client declares none (Scratch 3 clients) and
   * takes the room as it is, created empty if it does not exist.
   */
  readonly variables: readonly VariableEntry[] | null;
  /** The client's address, for the per-address connection limit. */
  readonly address: string;
}

export type JoinRefusal =
  /** Another live connection in the room holds this username (case-insensitively). */
  | 'username-taken'
  /** The room already has `maxClientsPerRoom` live members. */
  | 'room-full'
  /** The room is not active and the cluster already has `maxRooms` active rooms. */
  | 'too-many-rooms'
  /** The address already holds `maxConnectionsPerAddress` live connections. */
  | 'address-limit'
  /** The room's variable names differ from the request's and other clients are connected. */
  | 'variables-mismatch';

/**
 * created: the room did not exist and now holds the request's variables (none if null).
 * joined: the room existed with the same names (or the request declared none); nothing was changed.
 * migrated: the room existed with other names and nobody was connected, so shared
 *   names kept their stored values, new names took the request's, removed ones went.
 */
export type JoinOutcome = 'created' | 'joined' | 'migrated';

export type JoinResult =
  | { readonly ok: true; readonly outcome: JoinOutcome; readonly snapshot: RoomSnapshot }
  | { readonly ok: false; readonly reason: JoinRefusal };

/**
 * Why the store refused a change; nothing was stored or published.
 * unknown-room, unknown-variable: it does not exist (any more).
 * too-many-variables: creating the variable would exceed `maxVariables`.
 * over-budget: the room's names and values would exceed `maxRoomBytes`.
 * name-taken: a rename's new name is already a variable of the room.
 */
export type ChangeRefusal = 'unknown-room' | 'unknown-variable' | 'too-many-variables' | 'over-budget' | 'name-taken';

export type SetResult =
  | { readonly ok: true; readonly seq: number }
  | { readonly ok: false; readonly reason: Exclude<ChangeRefusal, 'name-taken'> };

export type ChangeResult = { readonly ok: true; readonly seq: number } | { readonly ok: false; readonly reason: ChangeRefusal };

export interface SetOptions {
  /**
   * Create the variable if the room does not have it (Scratch 3 clients declare no names),
   * within `maxVariables`. False: an unknown variable is refused.
   */
  readonly create?: boolean;
}

/** What one pod holds and must keep alive: one entry per joined connection. */
export interface Lease {
  readonly room: string;
  readonly connectionId: string;
  readonly address: string;
}

export interface EngineLimits {
  readonly maxClientsPerRoom: number;
  /** Variables a room may hold; a set that would create one more is refused. */
  readonly maxVariables: number;
  /**
   * Bytes (UTF-8) of a room's names and values together; a set or rename that would exceed
   * it is refused, so one room cannot fill the store. Joins are not refused by it: a
   * handshake's variables are bounded by the frame size.
   */
  readonly maxRoomBytes: number;
  readonly maxRooms: number;
  readonly maxConnectionsPerAddress: number;
  /** A lease not renewed within this many ms lapses, freeing its username and slots. */
  readonly leaseTtlMs: number;
  /** An empty room is forgotten this many ms after its last member left; 0 = never. */
  readonly roomTtlMs: number;
}

/**
 * Rooms and their variables, usernames and the cluster-wide limits.
 * Every method is atomic per room: join, set and leave each take effect at one point of
 * the room's order.
 */
export interface RoomStore {
  /**
   * Checks, in this order, username, room capacity, active-room and per-address limits,
   * then variable names; on success records a lease for the connection (expiring after
   * `leaseTtlMs` unless renewed) and returns the room's snapshot. The caller must already
   * be subscribed to the room on its bus, so that every event after the snapshot's seq
   * reaches it (gap-free join).
   */
  join(request: JoinRequest): Promise<JoinResult>;

  /**
   * Stores the value and publishes a SetEvent on the room's bus, as one atomic step:
   * the order of events on the bus is the order the store applied the changes.
   */
  set(room: string, origin: string, variable: string, value: string, options?: SetOptions): Promise<SetResult>;

  /** Renames a variable, keeping its value, and publishes a RenameEvent, as one atomic step. */
  rename(room: string, origin: string, variable: string, newName: string): Promise<ChangeResult>;

  /** Removes a variable and publishes a DeleteEvent, as one atomic step. */
  delete(room: string, origin: string, variable: string): Promise<ChangeResult>;

  /** Releases the connection's lease, username and slots. Idempotent. */
  leave(lease: Lease): Promise<void>;

  /** Extends every given lease by `leaseTtlMs` in one round trip. Leases that already lapsed are restored. */
  renew(leases: readonly Lease[]): Promise<void>;

  /** The room's current state, or null when it does not exist. */
  snapshot(room: string): Promise<RoomSnapshot | null>;

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
}

/** A store and its bus, sharing one backend. Created by a factory; closed once. */
export interface RoomEngine {
  readonly kind: 'memory' | 'redis';
  readonly store: RoomStore;
  readonly bus: RoomBus;
  readonly counters: WindowCounters;
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
