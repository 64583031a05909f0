/**
 * Moderation (ports.ts) on Redis: bans in a sorted set scored by expiry and the run-time
 * block list in a set, all under one hash tag (keys.ts moderationKeys), each call one script.
 * Every join checks its bans and block list (BanCheck), with its leases.
 */
import type { Ban, BanRequest, BanResult, BanTarget, BlockWordResult, JoinRefusal, JoinRequest, Moderation } from '../ports.ts';
import { MAX_BANS, MAX_BLOCKED_WORDS, banMember, canonicalAddress, normalizedTarget, usernameKey } from '../moderation.ts';
import { moderationKeys, moderationScriptKeys } from './keys.ts';
import type { RedisClient, Scripts } from './scripts.ts';

/** Tells a script to take `now` from Redis's TIME (clock.lua). */
const REDIS_CLOCK = -1;

export interface RedisModerationOptions {
  readonly client: RedisClient;
  readonly scripts: Scripts;
  readonly prefix: string;
  /** The test clock; absent, the scripts read Redis's TIME. */
  readonly now: (() => number) | undefined;
}

/**
 * What a join's store call needs of moderation: on one server its leases and this check are
 * one script (join-leases.lua, told `scriptKeys` and `args`); in Cluster `barred` runs ban-check.lua
 * on the moderation slot, in the same round trip as the lease scripts.
 */
export interface BanCheck {
  /** The moderation keys, in the order of moderation-prelude.lua. */
  readonly scriptKeys: readonly string[];
  /** The join's ARGV for `barred` (moderation-prelude.lua) after `now`: room, username key, canonical address. */
  args(request: JoinRequest): readonly [room: string, user: string, address: string];
  /** Why the join is barred, or null (ban-check.lua). */
  barred(request: JoinRequest): Promise<JoinRefusal | null>;
}

/** Moderation, and the ban check every join makes (BanCheck). */
export class RedisModeration implements Moderation, BanCheck {
  private readonly keys: ReturnType<typeof moderationKeys>;
  readonly scriptKeys: readonly string[];

  constructor(private readonly options: RedisModerationOptions) {
    this.keys = moderationKeys(options.prefix);
    this.scriptKeys = moderationScriptKeys(this.keys);
  }

  private now(): number {
    return this.options.now ? this.options.now() : REDIS_CLOCK;
  }

  args(request: JoinRequest): readonly [room: string, user: string, address: string] {
    return [request.room, usernameKey(request.username), canonicalAddress(request.address)];
  }

  barred(request: JoinRequest): Promise<JoinRefusal | null> {
    return this.options.scripts['ban-check'](...this.scriptKeys, this.now(), ...this.args(request));
  }

  async ban(request: BanRequest): Promise<BanResult> {
    const target = normalizedTarget(request);
    const times = await this.options.scripts.ban(...this.scriptKeys, this.now(), banMember(target), request.ttlMs, request.by, request.reason, MAX_BANS);
    if (times === null) return { ok: false, reason: 'too-many-bans' };
    return { ok: true, ban: { ...target, ...times, by: request.by, reason: request.reason } };
  }

  unban(target: BanTarget): Promise<boolean> {
    return this.options.scripts.unban(...this.scriptKeys, this.now(), banMember(normalizedTarget(target)));
  }

  bans(): Promise<Ban[]> {
    return this.options.scripts.bans(...this.scriptKeys, this.now());
  }

  async blockedWords(): Promise<string[]> {
    return (await this.options.client.smembers(this.keys.words)).sort();
  }

  async blockWord(word: string): Promise<BlockWordResult> {
    const changed = await this.options.scripts['block-word'](...this.scriptKeys, this.now(), 'add', usernameKey(word), MAX_BLOCKED_WORDS);
    return changed === 1 ? 'added' : changed === 0 ? 'present' : 'list-full';
  }

  async unblockWord(word: string): Promise<boolean> {
    return (await this.options.scripts['block-word'](...this.scriptKeys, this.now(), 'remove', usernameKey(word), MAX_BLOCKED_WORDS)) === 1;
  }
}
