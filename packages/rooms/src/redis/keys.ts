/**
 * Every Redis key and channel name the engine uses is built and parsed here, nowhere else.
 *
 * A room's keys and its channel share the hash tag `{<room>}`, so in Redis Cluster a room
 * lives on one slot: its scripts touch one slot and its channel can use sharded pub/sub.
 * The cluster-wide lease sets and the probe channel use tags that start with `~`, which a
 * room name cannot contain (PROTOCOL.md: `[A-Za-z0-9_.-]`), so they never collide with a room.
 */
import { RoomEngineError } from '../errors.ts';

export interface RoomKeys {
  /** hash: variable name -> value */
  readonly vars: string;
  /** hash: epoch, seq, created, exp (logical expiry, engine clock ms), bytes, fresh, only2020 (README.md) */
  readonly meta: string;
  /** sorted set: connection id -> lease expiry (ms) */
  readonly members: string;
  /** hash: lower-cased username -> connection id */
  readonly names: string;
  /** pub/sub channel of the room's ordered events */
  readonly channel: string;
  /** stream: the room's cloud log (user, verb, name, value, time), capped at about the log length */
  readonly log: string;
  /** list: the room's latest operator actions as published (catch-up reads, actions.ts); outlives the room's data */
  readonly actions: string;
}

export type ParsedChannel = { readonly kind: 'room'; readonly room: string } | { readonly kind: 'probe'; readonly podId: string };

const TAG_BREAKERS = /[{}]/;

/** Checks a prefix once at engine creation: braces in it would move every hash tag. */
export function assertKeyPrefix(prefix: string): void {
  if (TAG_BREAKERS.test(prefix)) {
    throw new RoomEngineError('CV_ERR_REDIS_KEY', `key prefix must not contain "{" or "}": ${JSON.stringify(prefix)}`);
  }
}

function assertTagSafe(what: string, value: string): void {
  if (value.length === 0 || TAG_BREAKERS.test(value) || value.startsWith('~')) {
    throw new RoomEngineError('CV_ERR_REDIS_KEY', `${what} cannot be used in a Redis hash tag: ${JSON.stringify(value)}`);
  }
}

export function roomKeys(prefix: string, room: string): RoomKeys {
  assertTagSafe('room', room);
  const base = `${prefix}{${room}}`;
  return {
    vars: `${base}:vars`,
    meta: `${base}:meta`,
    members: `${base}:members`,
    names: `${base}:names`,
    channel: base,
    log: `${base}:log`,
    actions: `${base}:actions`,
  };
}

/**
 * The keys every room script receives, in this order: lua/prelude.lua reads them as
 * KEYS[1], KEYS[2], ... (its header names each). Defined once; scripts.ts takes the count.
 */
export const ROOM_SCRIPT_KEYS = ['vars', 'meta', 'members', 'names', 'channel', 'log', 'actions'] as const satisfies readonly (keyof RoomKeys)[];

export function roomScriptKeys(keys: RoomKeys): string[] {
  return ROOM_SCRIPT_KEYS.map((name) => keys[name]);
}

/** Moderation's keys: one tag of their own (`~` cannot start a room), so one Cluster slot and one script. */
export interface ModerationKeys {
  /** sorted set: ban member (moderation.ts banMember) -> expiry (ms) */
  readonly bans: string;
  /** hash: ban member -> JSON [by, reason, created ms] */
  readonly banInfo: string;
  /** set: the run-time username block list (lower-cased words) */
  readonly words: string;
}

export function moderationKeys(prefix: string): ModerationKeys {
  const base = `${prefix}{~moderation}`;
  return { bans: `${base}:bans`, banInfo: `${base}:ban-info`, words: `${base}:blocked-words` };
}

/** The keys every moderation script receives, in this order (KEYS[1], KEYS[2], KEYS[3]). */
export const MODERATION_SCRIPT_KEYS = ['bans', 'banInfo', 'words'] as const satisfies readonly (keyof ModerationKeys)[];

export function moderationScriptKeys(keys: ModerationKeys): string[] {
  return MODERATION_SCRIPT_KEYS.map((name) => keys[name]);
}

/** Sorted set of active rooms across the cluster: room -> lease expiry (ms). */
export function activeRoomsKey(prefix: string): string {
  return `${prefix}{~rooms}`;
}

/** Sorted set of one client address's connections across the cluster: connection id -> lease expiry (ms). */
export function addressKey(prefix: string, address: string): string {
  // Addresses are opaque (IPv6 has colons); only braces would break the tag.
  return `${prefix}{~addr:${address.replace(/[{}]/g, '_')}}`;
}

/** One address's ledger of charged bytes (lua/ledger.lua), on the address's own slot: the two keys in the script's order. */
export function ledgerKeys(prefix: string, address: string): readonly [lapses: string, bytes: string] {
  const base = `${prefix}{~bytes:${address.replace(/[{}]/g, '_')}}`;
  return [`${base}:lapses`, `${base}:bytes`];
}

/** A cluster-wide window counter (WindowCounters). The caller's key is opaque: escaped so braces cannot end the tag. */
export function counterKey(prefix: string, key: string): string {
  return `${prefix}{~hits:${key.replace(/[%{}]/g, (char) => `%${char.charCodeAt(0).toString(16)}`)}}`;
}

/** Pod-private channel for the liveness probe; one slot of its own in Cluster. */
export function probeChannel(prefix: string, podId: string): string {
  return `${prefix}{~probe:${podId.replace(/[{}]/g, '_')}}`;
}

/** Inverse of `roomKeys(...).channel` and `probeChannel`; null for a channel not ours. */
export function parseChannel(prefix: string, channel: string): ParsedChannel | null {
  if (!channel.startsWith(prefix)) return null;
  const rest = channel.slice(prefix.length);
  if (!rest.startsWith('{') || !rest.endsWith('}')) return null;
  const inner = rest.slice(1, -1);
  if (inner.length === 0 || TAG_BREAKERS.test(inner)) return null;
  if (inner.startsWith('~probe:')) return { kind: 'probe', podId: inner.slice('~probe:'.length) };
  if (inner.startsWith('~')) return null;
  return { kind: 'room', room: inner };
}

/** Project policies (ProjectPolicies): one tag of their own (`~` cannot start a room), so one Cluster slot. */
export interface PolicyKeys {
  /** hash: room -> the policy's text */
  readonly table: string;
  /** string: a counter raised by every put and delete, in the same transaction (ProjectPolicies.version) */
  readonly version: string;
  /** pub/sub channel every pod subscribes: each message is the room whose policy changed */
  readonly channel: string;
}

export function policyKeys(prefix: string): PolicyKeys {
  const base = `${prefix}{~policies}`;
  return { table: `${base}:table`, version: `${base}:version`, channel: base };
}
