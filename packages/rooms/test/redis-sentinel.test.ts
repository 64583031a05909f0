import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder, freshRoom, joinRequest, roomyLimits } from './contract/harness.ts';
import { redisPods } from '@cloudvars/test-support/redis-engines';
import { hasBinary } from '@cloudvars/test-support/redis-server';
import { MASTER_NAME, startRedisSentinel, type RedisSentinelProcesses } from '@cloudvars/test-support/redis-sentinel';
import { until } from '@cloudvars/test-support/until';

/** Fault: Sentinel promotes the replica; both pods follow it and the bus resyncs. */
// Needs redis-server and redis-sentinel (`pnpm test` installs them); skipped, visibly, without.
describe.skipIf(!hasBinary('redis-server') || !hasBinary('redis-sentinel'))('redis engine behind Sentinel', () => {
  let setup: RedisSentinelProcesses;
  beforeAll(async () => {
    setup = await startRedisSentinel();
  });
  afterAll(async () => {
    await setup.destroy();
  });

  it('follows a forced failover: sets go to the new primary and events flow after a resync', async () => {
    const made = await redisPods(setup.url, { limits: roomyLimits });
    const [a, b] = made.engines;
    const recorder = new Recorder();
    b.bus.listen(recorder);
    const room = freshRoom();
    try {
      const joined = await a.store.join(joinRequest(room, 'c1', 'alice'));
      await b.bus.subscribe([room]);
      expect(await a.store.set(room, 'c1', 'x', 'before')).toEqual({ ok: true, seq: 1 });
      await until(() => recorder.of(room).length === 1, { what: 'the event before the failover' });
      // The set must be on the replica before it is promoted, or the failover may lose it
      // (a loaded machine lags): WAIT returns once the replica acknowledged every write.
      const primary = new Redis(setup.primary.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        expect(await primary.call('WAIT', '1', '10000')).toBe(1);
      } finally {
        primary.disconnect();
      }

      expect(await setup.primaryPort()).toBe(setup.primary.port);
      await setup.control.call('SENTINEL', 'FAILOVER', MASTER_NAME);
      await until(async () => (await setup.primaryPort()) === setup.replica.port, {
        timeoutMs: 20_000,
        what: 'sentinel to name the replica as primary',
      });
      await until(() => recorder.resyncs >= 1, { timeoutMs: 20_000, what: 'onResync after the failover' });

      // The first sets may still meet the demoted primary (READONLY): retry until one lands.
      const retried: unknown[] = [];
      await until(
        async () => {
          const applied = await a.store.set(room, 'c1', 'x', 'after').catch((error: unknown) => {
            retried.push(error);
            return undefined;
          });
          return applied?.ok === true;
        },
        { timeoutMs: 20_000, what: 'a set accepted by the new primary' },
      );
      await until(() => recorder.of(room).some((event) => event.value === 'after'), { timeoutMs: 10_000, what: 'the event after the failover' });
      const after = recorder.of(room).find((event) => event.value === 'after');
      expect(after?.epoch).toBe(joined.ok ? joined.snapshot.epoch : 'unreachable');
      expect(after?.seq).toBe(2);
      expect(a.isConnected() && b.isConnected()).toBe(true);
      expect(await b.bus.probe(2_000)).toBe(true);
    } finally {
      await made.cleanup();
    }
  });
});
