/**
 * The Lua scripts, registered once per client with `defineCommand` (EVALSHA, with EVAL on
 * NOSCRIPT after a Redis restart). Every script gets `lua/clock.lua` prepended; room scripts
 * also `lua/prelude.lua`, and take the five room keys of `roomScriptKeys`; lease scripts
 * take one lease-set key.
 * Replies are returned as `unknown`: the store parses them.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { RedisEngineError } from './errors.ts';

export type RedisClient = Redis | Cluster;
export type ScriptArg = string | number;
export type ScriptCall = (...args: ScriptArg[]) => Promise<unknown>;

const ROOM_SCRIPTS = ['join', 'set', 'leave', 'renew', 'snapshot', 'members'] as const;
const LEASE_SCRIPTS = ['lease-acquire', 'lease-renew'] as const;
type ScriptName = (typeof ROOM_SCRIPTS)[number] | (typeof LEASE_SCRIPTS)[number];

export type Scripts = Readonly<Record<ScriptName, ScriptCall>>;

function lua(name: string): string {
  return readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
}

/** Command names are namespaced so they cannot shadow a real ioredis command. */
function commandName(name: ScriptName): string {
  return `cv_${name.replace(/-/g, '_')}`;
}

let sources: ReadonlyMap<ScriptName, { lua: string; keys: number }> | undefined;

function loadSources(): ReadonlyMap<ScriptName, { lua: string; keys: number }> {
  if (sources) return sources;
  const clock = lua('clock');
  const prelude = lua('prelude');
  const map = new Map<ScriptName, { lua: string; keys: number }>();
  for (const name of ROOM_SCRIPTS) map.set(name, { lua: `${clock}\n${prelude}\n${lua(name)}`, keys: 5 });
  for (const name of LEASE_SCRIPTS) map.set(name, { lua: `${clock}\n${lua(name)}`, keys: 1 });
  sources = map;
  return map;
}

export function defineScripts(client: RedisClient): Scripts {
  const calls = {} as Record<ScriptName, ScriptCall>;
  for (const [name, source] of loadSources()) {
    const command = commandName(name);
    client.defineCommand(command, { numberOfKeys: source.keys, lua: source.lua });
    const fn: unknown = Reflect.get(client, command);
    if (typeof fn !== 'function') {
      throw new RedisEngineError('CV_ERR_REDIS_REPLY', `defineCommand did not create ${command}`);
    }
    calls[name] = (...args) => Promise.resolve(fn.apply(client, args) as unknown);
  }
  return calls;
}
