import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineLimits, JoinResult } from '../src/ports.ts';
import { activeRoomsKey, addressKey } from '../src/redis/keys.ts';
import { freshRoom, joinRequest, range, roomyLimits } from './contract/harness.ts';
import { redisPods, type RedisPods } from '@cloudvars/test-support/redis-engines';
import { redisUrl } from '@cloudvars/test-support/redis-url';

/**
 * The cluster-wide limits are taken in a separate step from the room's script (they live on
 * other Cluster slots). Many joins racing from two pods must still admit exactly the limit,
 * and every refused join must give back the leases it took.
 */
describe('redis engine: limits under concurrent joins from two pods', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function setup(overrides: Partial<EngineLimits>): Promise<{ made: RedisPods; client: Redis }> {
    const made = await redisPods(redisUrl(), { limits: { ...roomyLimits, ...overrides } });
    const client = new Redis(redisUrl());
    cleanups.push(async () => {
      await client.quit();
      await made.cleanup();
    });
    return { made, client };
  }

  function tally(results: readonly JoinResult[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const result of results) {
      const key = result.ok ? result.outcome : result.reason;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  it('admits exactly maxRooms of 16 racing joins to new rooms; the refused hold no lease', async () => {
    const { made, client } = await setup({ maxRooms: 5 });
    const results = await Promise.all(
      range(0, 15).map((i) => made.engines[i % 2]!.store.join(joinRequest(freshRoom('race'), `c${i}`, 'alice', [['x', '0']], `10.0.1.${i}`))),
    );
    expect(tally(results)).toEqual({ created: 5, 'too-many-rooms': 11 });
    expect(await client.zcard(activeRoomsKey(made.prefix))).toBe(5);
    const held = await Promise.all(range(0, 15).map((i) => client.zcard(addressKey(made.prefix, `10.0.1.${i}`))));
    expect(held.reduce((sum, n) => sum + n, 0)).toBe(5);
  });

  it('admits exactly maxClientsPerRoom of 12 racing joins to one room and gives back the refused address leases', async () => {
    const { made, client } = await setup({ maxClientsPerRoom: 4 });
    const room = freshRoom('race');
    await made.engines[0].store.join(joinRequest(room, 'owner', 'owner', [['x', '0']], '10.0.2.99'));
    const results = await Promise.all(
      range(0, 11).map((i) => made.engines[i % 2]!.store.join(joinRequest(room, `c${i}`, `user${i}`, [['x', '0']], `10.0.2.${i}`))),
    );
    expect(tally(results)).toEqual({ joined: 3, 'room-full': 9 });
    expect(await made.engines[1].store.memberCount(room)).toBe(4);
    const held = await Promise.all(range(0, 11).map((i) => client.zcard(addressKey(made.prefix, `10.0.2.${i}`))));
    expect(held.reduce((sum, n) => sum + n, 0)).toBe(3);
    expect(await client.zcard(activeRoomsKey(made.prefix))).toBe(1);
  });

  it('admits exactly maxConnectionsPerAddress of 10 racing joins from one address; refused rooms are not left active', async () => {
    const { made, client } = await setup({ maxConnectionsPerAddress: 3 });
    const results = await Promise.all(
      range(0, 9).map((i) => made.engines[i % 2]!.store.join(joinRequest(freshRoom('race'), `c${i}`, 'alice', [['x', '0']], '10.0.3.1'))),
    );
    expect(tally(results)).toEqual({ created: 3, 'address-limit': 7 });
    expect(await client.zcard(addressKey(made.prefix, '10.0.3.1'))).toBe(3);
    expect(await client.zcard(activeRoomsKey(made.prefix))).toBe(3);
  });

  it('gives a username to exactly one of 10 racing joins', async () => {
    const { made } = await setup({});
    const room = freshRoom('race');
    const results = await Promise.all(
      range(0, 9).map((i) => made.engines[i % 2]!.store.join(joinRequest(room, `c${i}`, i % 2 === 0 ? 'Alice' : 'aLiCe', [['x', '0']], `10.0.4.${i}`))),
    );
    expect(tally(results)).toEqual({ created: 1, 'username-taken': 9 });
  });
});
