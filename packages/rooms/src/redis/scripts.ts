/**
 * The Lua scripts, registered once per client with `defineCommand` (EVALSHA, with EVAL on
 * NOSCRIPT after a Redis restart). Every script gets `lua/clock.lua` prepended; room scripts
 * also the definitions of `lua/prelude.lua` they use (preludeFor), and take the room keys of `roomScriptKeys` (keys.ts); moderation
 * scripts `lua/moderation-prelude.lua` and the keys of `moderationScriptKeys`; the lease and
 * ledger scripts take the keys of their own tag. Two run only where every key is on one server
 * (not Cluster; their keys span tags): `join-leases` (the moderation keys, the active rooms,
 * the address's set) and `join-renewing` (join.lua with the active rooms' set as an eighth
 * key). Each call resolves to its reply, parsed (replies.ts).
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { RoomEngineError } from '../errors.ts';
import { MODERATION_SCRIPT_KEYS, ROOM_SCRIPT_KEYS } from './keys.ts';
import {
  parseBanCheckReply,
  parseBanReply,
  parseBansReply,
  parseBlockWordReply,
  parseJoinReply,
  parseLogReply,
  parseRoomActionReply,
  parseUnbanReply,
  parseLeaseAcquireReply,
  parseJoinLeasesReply,
  parseLeaseReleaseReply,
  parseLeaseRenewReply,
  parseLeaveReply,
  parseDeleteReply,
  parseRefundReply,
  parseHitReply,
  parseMembersReply,
  parseRenameReply,
  parseRenewReply,
  parseSetReply,
  parseSnapshotReply,
  parseLedgerReply,
} from './replies.ts';

export type RedisClient = Redis | Cluster;
export type ScriptArg = string | number;

/** Room scripts and how to read each one's reply. */
const ROOM_SCRIPTS = {
  join: parseJoinReply,
  set: parseSetReply,
  rename: parseRenameReply,
  delete: parseDeleteReply,
  leave: parseLeaveReply,
  renew: parseRenewReply,
  snapshot: parseSnapshotReply,
  members: parseMembersReply,
  log: parseLogReply,
  'delete-room': parseRoomActionReply,
  kick: parseRoomActionReply,
} as const;

/** Scripts on the moderation keys (bans, block list): one slot of their own in Cluster. */
const MODERATION_SCRIPTS = {
  'ban-check': parseBanCheckReply,
  ban: parseBanReply,
  unban: parseUnbanReply,
  bans: parseBansReply,
  'block-word': parseBlockWordReply,
} as const;

/** Scripts on one key of their own: a cluster-wide lease set, or a window counter. */
const LEASE_SCRIPTS = {
  'lease-acquire': parseLeaseAcquireReply,
  'lease-renew': parseLeaseRenewReply,
  'lease-release': parseLeaseReleaseReply,
  hit: parseHitReply,
  refund: parseRefundReply,
} as const;

/** One address's ledger of charged bytes (keys.ts ledgerKeys: two keys on its own slot). */
const LEDGER_SCRIPTS = { ledger: parseLedgerReply } as const;
const LEDGER_KEYS = 2;

/**
 * A join's ban check and its two cluster-wide leases as one script, where every key is on one
 * server (not Cluster): the moderation keys, then the active rooms and the address's set.
 */
const JOIN_LEASES_SCRIPTS = { 'join-leases': parseJoinLeasesReply } as const;

/** join.lua told the active rooms' set as one more key, on one server: it renews the room's slot itself (lua/join.lua). */
const JOIN_RENEWING_SCRIPTS = { 'join-renewing': parseJoinReply } as const;
const JOIN_LEASES_KEYS = MODERATION_SCRIPT_KEYS.length + 2;

/** The scripts that take a lease get `lua/lease-prelude.lua` (acquire_lease). */
const LEASE_PRELUDE_USERS: ReadonlySet<ScriptName> = new Set<ScriptName>(['lease-acquire', 'join-leases']);

const PARSERS = { ...ROOM_SCRIPTS, ...LEASE_SCRIPTS, ...MODERATION_SCRIPTS, ...LEDGER_SCRIPTS, ...JOIN_LEASES_SCRIPTS, ...JOIN_RENEWING_SCRIPTS };
type ScriptName = keyof typeof PARSERS;

/** Each script as a function: keys first, then ARGV, resolving to the parsed reply. */
export type Scripts = {
  readonly [N in ScriptName]: (...args: ScriptArg[]) => Promise<ReturnType<(typeof PARSERS)[N]>>;
};

function lua(name: string): string {
  return readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
}

/** One top-level `local` of a prelude: its name and its text (with the comments before the next). */
interface Definition {
  readonly name: string;
  readonly text: string;
}

const TOP_LEVEL_LOCAL = /^local (?:function )?([A-Za-z_]\w*)/;

/** A prelude cut at each top-level `local` (every one starts a line; the file holds nothing else but comments). */
function definitionsOf(prelude: string): Definition[] {
  const definitions: { name: string; lines: string[] }[] = [];
  for (const line of prelude.split('\n')) {
    const name = TOP_LEVEL_LOCAL.exec(line)?.[1];
    if (name !== undefined) definitions.push({ name, lines: [] });
    definitions.at(-1)?.lines.push(line);
  }
  return definitions.map(({ name, lines }) => ({ name, text: lines.join('\n') }));
}

function mentions(text: string, name: string): boolean {
  return new RegExp(`\\b${name}\\b`).test(text);
}

/**
 * The prelude's definitions that `script` uses, and those they use, in the prelude's order.
 * Lua makes a closure of every `local function` it runs, on every call: a set paid for all
 * of the prelude's (about 2 us of Redis CPU, set-cost.ts) where it needs about half. A name
 * only mentioned (a comment) is kept too: at worst a closure too many, never one missing.
 */
function preludeFor(definitions: readonly Definition[], script: string): string {
  const wanted = new Set<string>();
  const pending = [script];
  for (let text = pending.pop(); text !== undefined; text = pending.pop()) {
    for (const definition of definitions) {
      if (wanted.has(definition.name) || !mentions(text, definition.name)) continue;
      wanted.add(definition.name);
      pending.push(definition.text);
    }
  }
  return definitions
    .filter((definition) => wanted.has(definition.name))
    .map((definition) => definition.text)
    .join('\n');
}

/** Command names are namespaced so they cannot shadow a real ioredis command. */
function commandName(name: ScriptName): string {
  return `cv_${name.replace(/-/g, '_')}`;
}

interface Source {
  readonly lua: string;
  readonly keys: number;
}

let sources: ReadonlyMap<ScriptName, Source> | undefined;

function loadSources(): ReadonlyMap<ScriptName, Source> {
  if (sources) return sources;
  const clock = lua('clock');
  const prelude = definitionsOf(lua('prelude'));
  const map = new Map<ScriptName, Source>();
  for (const name of Object.keys(ROOM_SCRIPTS) as (keyof typeof ROOM_SCRIPTS)[]) {
    const script = lua(name);
    map.set(name, { lua: `${clock}\n${preludeFor(prelude, script)}\n${script}`, keys: ROOM_SCRIPT_KEYS.length });
  }
  const join = map.get('join');
  if (join !== undefined) map.set('join-renewing', { lua: join.lua, keys: ROOM_SCRIPT_KEYS.length + 1 });
  const leasePrelude = lua('lease-prelude');
  const leasesOf = (name: ScriptName): string => (LEASE_PRELUDE_USERS.has(name) ? `${leasePrelude}\n` : '');
  for (const name of Object.keys(LEASE_SCRIPTS) as (keyof typeof LEASE_SCRIPTS)[]) {
    map.set(name, { lua: `${clock}\n${leasesOf(name)}${lua(name)}`, keys: 1 });
  }
  const moderationPrelude = lua('moderation-prelude');
  for (const name of Object.keys(MODERATION_SCRIPTS) as (keyof typeof MODERATION_SCRIPTS)[]) {
    map.set(name, { lua: `${clock}\n${moderationPrelude}\n${lua(name)}`, keys: MODERATION_SCRIPT_KEYS.length });
  }
  map.set('ledger', { lua: `${clock}\n${lua('ledger')}`, keys: LEDGER_KEYS });
  map.set('join-leases', { lua: `${clock}\n${moderationPrelude}\n${leasesOf('join-leases')}${lua('join-leases')}`, keys: JOIN_LEASES_KEYS });
  sources = map;
  return map;
}

export function defineScripts(client: RedisClient): Scripts {
  const calls: Record<string, (...args: ScriptArg[]) => Promise<unknown>> = {};
  for (const [name, source] of loadSources()) {
    const command = commandName(name);
    client.defineCommand(command, { numberOfKeys: source.keys, lua: source.lua });
    const fn: unknown = Reflect.get(client, command);
    if (typeof fn !== 'function') {
      throw new RoomEngineError('CV_ERR_REDIS_REPLY', `defineCommand did not create ${command}`);
    }
    const parse: (reply: unknown) => unknown = PARSERS[name];
    calls[name] = async (...args) => parse(await (fn.apply(client, args) as Promise<unknown>));
  }
  return calls as unknown as Scripts;
}
