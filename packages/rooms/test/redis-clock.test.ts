import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { activeRoomsKey, addressKey, roomKeys } from '../src/redis/keys.ts';
import { freshRoom, joinRequest, leaseOf, roomyLimits } from './contract/harness.ts';
import { redisPods } from '@cloudvars/test-support/redis-engines';
import { redisUrl } from '@cloudvars/test-support/redis-url';

async function redisMs(client: Redis): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * Without an injected clock, leases follow Redis's TIME, not the pod's: pods whose clocks
 * disagree by more than a lease would otherwise see each other's live leases as lapsed.
 */
describe('redis engine clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('takes lease expiries from Redis TIME when the pod clock is an hour ahead', async () => {
    // Only Date is faked: timers and sockets run for real.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
    const made = await redisPods(redisUrl(), { limits: roomyLimits });
    const admin = new Redis(redisUrl());
    const [a] = made.engines;
    const room = freshRoom();
    const { leaseTtlMs } = roomyLimits;
    try {
      const before = await redisMs(admin);
      const joined = await a.store.join(joinRequest(room, 'c1', 'alice'));
      const after = await redisMs(admin);
      expect(joined.ok).toBe(true);
      const keys = roomKeys(made.prefix, room);
      const scores = [
        Number(await admin.zscore(keys.members, 'c1')),
        Number(await admin.zscore(activeRoomsKey(made.prefix), room)),
        Number(await admin.zscore(addressKey(made.prefix, '10.0.0.1'), 'c1')),
      ];
      for (const score of scores) {
        expect(score).toBeGreaterThanOrEqual(before + leaseTtlMs);
        expect(score).toBeLessThanOrEqual(after + leaseTtlMs);
      }

      const beforeRenew = await redisMs(admin);
      await a.store.renew([leaseOf(joinRequest(room, 'c1', 'alice'))]);
      expect(Number(await admin.zscore(keys.members, 'c1'))).toBeGreaterThanOrEqual(beforeRenew + leaseTtlMs);
      expect(await made.engines[1].store.memberCount(room)).toBe(1);
    } finally {
      await admin.quit();
      await made.cleanup();
    }
  });
});
