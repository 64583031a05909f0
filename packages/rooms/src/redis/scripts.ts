/**
 * The Lua scripts, registered once per client with `defineCommand` (EVALSHA, with EVAL on
 * NOSCRIPT after a Redis restart). Every script gets `lua/clock.lua` prepended; room scripts
 * also `lua/prelude.lua`, and take the room keys of `roomScriptKeys` (keys.ts); moderation
 * scripts `lua/moderation-prelude.lua` and the keys of `moderationScriptKeys`; the others
 * take one key of their own. Each call resolves to its reply, parsed (replies.ts).
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

/** Scripts on one cluster-wide lease set (its own slot in Cluster). */
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

const PARSERS = { ...ROOM_SCRIPTS, ...LEASE_SCRIPTS, ...MODERATION_SCRIPTS, ...LEDGER_SCRIPTS };
type ScriptName = keyof typeof PARSERS;

/** Each script as a function: keys first, then ARGV, resolving to the parsed reply. */
export type Scripts = {
  readonly [N in ScriptName]: (...args: ScriptArg[]) => Promise<ReturnType<(typeof PARSERS)[N]>>;
};

function lua(name: string): string {
  return readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
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
  const prelude = lua('prelude');
  const map = new Map<ScriptName, Source>();
  for (const name of Object.keys(ROOM_SCRIPTS) as (keyof typeof ROOM_SCRIPTS)[]) {
    map.set(name, { lua: `${clock}\n${prelude}\n${lua(name)}`, keys: ROOM_SCRIPT_KEYS.length });
  }
  for (const name of Object.keys(LEASE_SCRIPTS) as (keyof typeof LEASE_SCRIPTS)[]) {
    map.set(name, { lua: `${clock}\n${lua(name)}`, keys: 1 });
  }
  const moderationPrelude = lua('moderation-prelude');
  for (const name of Object.keys(MODERATION_SCRIPTS) as (keyof typeof MODERATION_SCRIPTS)[]) {
    map.set(name, { lua: `${clock}\n${moderationPrelude}\n${lua(name)}`, keys: MODERATION_SCRIPT_KEYS.length });
  }
  map.set('ledger', { lua: `${clock}\n${lua('ledger')}`, keys: LEDGER_KEYS });
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
