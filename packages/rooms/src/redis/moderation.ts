/**
 * Moderation (ports.ts) on Redis: bans in a sorted set scored by expiry and the run-time
 * block list in a set, all under one hash tag (keys.ts moderationKeys), each call one script.
 * The store's join asks `barred` in the same round trip as its lease scripts.
 */
import type { BanRequest, BanResult, BanTarget, BlockWordResult, JoinRefusal, JoinRequest, Moderation } from '../ports.ts';
import { MAX_BANS, MAX_BLOCKED_WORDS, banMember, canonicalAddress, normalizedTarget, usernameKey } from '../moderation.ts';
import { moderationKeys, moderationScriptKeys } from './keys.ts';
import type { RedisClient, Scripts } from './scripts.ts';

/** Tells a script to take `now` from Redis's TIME (clock.lua). */
const REDIS_CLOCK = -1;

export interface RedisModeration extends Moderation {
  barred(request: JoinRequest): Promise<JoinRefusal | null>;
}

export function createRedisModeration(options: {
  readonly client: RedisClient;
  readonly scripts: Scripts;
  readonly prefix: string;
  readonly now: (() => number) | undefined;
}): RedisModeration {
  const { client, scripts } = options;
  const keys = moderationKeys(options.prefix);
  const scriptKeys = moderationScriptKeys(keys);
  const injected = options.now;
  const now = (): number => (injected ? injected() : REDIS_CLOCK);

  return {
    barred(request) {
      return scripts['ban-check'](...scriptKeys, now(), request.room, usernameKey(request.username), canonicalAddress(request.address));
    },
    async ban(request: BanRequest): Promise<BanResult> {
      const target = normalizedTarget(request);
      const times = await scripts.ban(...scriptKeys, now(), banMember(target), request.ttlMs, request.by, request.reason, MAX_BANS);
      if (times === null) return { ok: false, reason: 'too-many-bans' };
      return { ok: true, ban: { ...target, ...times, by: request.by, reason: request.reason } };
    },
    unban(target: BanTarget) {
      return scripts.unban(...scriptKeys, now(), banMember(normalizedTarget(target)));
    },
    bans() {
      return scripts.bans(...scriptKeys, now());
    },
    async blockedWords() {
      return (await client.smembers(keys.words)).sort();
    },
    async blockWord(word: string): Promise<BlockWordResult> {
      const changed = await scripts['block-word'](...scriptKeys, now(), 'add', usernameKey(word), MAX_BLOCKED_WORDS);
      return changed === 1 ? 'added' : changed === 0 ? 'present' : 'list-full';
    },
    async unblockWord(word: string) {
      return (await scripts['block-word'](...scriptKeys, now(), 'remove', usernameKey(word), MAX_BLOCKED_WORDS)) === 1;
    },
  };
}
