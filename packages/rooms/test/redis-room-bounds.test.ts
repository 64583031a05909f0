import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_NAME_BYTES, LOG_VALUE_BYTES } from '../src/log.ts';
import type { EngineLimits } from '../src/ports.ts';
import { roomKeys } from '../src/redis/keys.ts';
import { freshRoom, joinRequest, roomyLimits, sorted } from './contract/harness.ts';
import { redisPods, type RedisPods } from '@cloudvars/test-support/redis-engines';
import { redisUrl } from '@cloudvars/test-support/redis-url';

/**
 * What Redis holds for one room stays bounded, for rooms this version makes and for rooms an
 * earlier version left in production Redis (no `only2020`, no `bytes`, over the budget).
 */
describe('redis room bounds', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const item of open.splice(0)) await item.close();
  });

  async function pods(limits: EngineLimits = roomyLimits): Promise<RedisPods> {
    const made = await redisPods(redisUrl(), { limits });
    open.push({ close: () => made.cleanup() });
    return made;
  }

  function raw(): Redis {
    const client = new Redis(redisUrl());
    open.push({ close: async () => void (await client.quit()) });
    return client;
  }

  /** A room as an earlier version stored it: variables and a meta hash without `only2020` or `bytes`. */
  async function storedBefore(client: Redis, prefix: string, room: string, variables: Record<string, string>): Promise<void> {
    const keys = roomKeys(prefix, room);
    await client.hset(keys.vars, variables);
    await client.hset(keys.meta, { epoch: 'old-epoch', seq: 7, created: Date.now() });
  }

  it('treats a room stored before rooms were told apart as shared: a 2020 join with other names adds them and deletes nothing', async () => {
    const { engines, prefix } = await pods();
    const room = freshRoom();
    await storedBefore(raw(), prefix, room, { '☁ highscore': '987654', '☁ level': '42' });
    const joined = await engines[0].store.join(joinRequest(room, 'c1', 'visitor', [['☁ x', '0']]));
    expect(joined.ok && joined.outcome).toBe('extended');
    expect(joined.ok && sorted(joined.snapshot.variables)).toEqual([['☁ highscore', '987654'], ['☁ level', '42'], ['☁ x', '0']]);
    expect(joined.ok && [joined.snapshot.epoch, joined.snapshot.seq]).toEqual(['old-epoch', 8]);
  });

  it('lets a room stored over its budget shrink: a set that does not grow it applies, growing ones and added names are refused', async () => {
    const { engines, prefix } = await pods({ ...roomyLimits, maxRoomBytes: 1_000_000 });
    const room = freshRoom();
    // 3 MB, as an earlier version let 2020 handshakes leave (issue 18: up to 11.4 MB).
    await storedBefore(raw(), prefix, room, { a: '1'.repeat(1_000_000), b: '2'.repeat(1_000_000), c: '3'.repeat(1_000_000) });
    const { store } = engines[1];
    expect(await store.set(room, 'c1', 'a', '1'.repeat(1_000_001))).toEqual({ ok: false, reason: 'over-budget' });
    expect(await store.set(room, 'c1', 'a', '4'.repeat(1_000_000))).toEqual({ ok: true, seq: 8 });
    expect(await store.set(room, 'c1', 'b', '5')).toEqual({ ok: true, seq: 9 });
    expect(await store.set(room, 'c1', 'new', '1', { create: true })).toEqual({ ok: false, reason: 'over-budget' });
    expect(await store.join(joinRequest(room, 'c2', 'bob', [['a', '0'], ['d', '0']]))).toEqual({ ok: false, reason: 'over-budget' });
    expect(await store.set(room, 'c1', 'c', '6')).toEqual({ ok: true, seq: 10 });
    // Under the budget again (1,000,005 bytes: a shrinks next), it takes changes within it.
    expect(await store.set(room, 'c1', 'a', '7')).toEqual({ ok: true, seq: 11 });
    expect(await store.set(room, 'c1', 'new', '1', { create: true })).toEqual({ ok: true, seq: 12 });
  });

  it(`keeps a room's log within about 1.6 KB of Redis memory per entry of the log length, names cut to ${LOG_NAME_BYTES} bytes and values to ${LOG_VALUE_BYTES} (MEMORY USAGE)`, async () => {
    const { engines, prefix } = await pods({ ...roomyLimits, maxRoomBytes: 1_048_576, logLength: 100 });
    const client = raw();
    const room = freshRoom();
    await engines[0].store.join({ ...joinRequest(room, 'c1', 'player1', null), claimUsername: false });
    // The case: a 1,024-character name (3,070 bytes) set 150 times with ~1 KiB values.
    const name = '☁ ' + '☃'.repeat(1_022);
    for (let i = 0; i < 150; i++) {
      const result = await engines[i % 2]!.store.set(room, 'c1', name, String(i).padStart(2_000, '9'), { create: true, user: 'player1234567890abcd' });
      expect(result.ok).toBe(true);
    }
    const log = roomKeys(prefix, room).log;
    const entries = await client.xlen(log);
    const bytes = Number(await client.call('MEMORY', 'USAGE', log, 'SAMPLES', '0'));
    expect(entries).toBeGreaterThanOrEqual(100);
    // What README and log.ts promise: about 1.6 KB an entry of the log length, the stream's
    // overhead and the entries beyond it that MAXLEN ~ keeps included (157,088 bytes for 102
    // entries on Redis 7.0; 563,576 for 100 before names were cut).
    expect(entries).toBeLessThanOrEqual(110);
    expect(bytes).toBeLessThanOrEqual(100 * 1_700);
  });
});
