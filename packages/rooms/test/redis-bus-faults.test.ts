import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { probeChannel, roomKeys } from '../src/redis/keys.ts';
import { freshRoom, roomyLimits } from './contract/harness.ts';
import { redisPods } from './support/redis-engines.ts';
import { freePort, hasBinary, startRedisProcess, type RedisProcess } from './support/redis-server.ts';
import { until } from './support/until.ts';

/** Bus and connection faults on private redis-servers (each test owns its server). */
describe.skipIf(!hasBinary('redis-server'))('redis bus faults on a private redis-server', () => {
  it('forgets a room whose subscribe was rejected: it is not resubscribed once Redis is up', async () => {
    const port = await freePort();
    const made = await redisPods(`redis://127.0.0.1:${port}`, { limits: roomyLimits });
    const [a] = made.engines;
    let late: RedisProcess | undefined;
    let admin: Redis | undefined;
    const room = freshRoom();
    try {
      // Nothing listens yet: the SUBSCRIBE fails once ioredis gives up on the request.
      await expect(a.bus.subscribe([room])).rejects.toBeInstanceOf(Error);
      late = await startRedisProcess({ port });
      // The probe channel goes in the same SUBSCRIBE as every remembered room on `ready`.
      await until(() => a.bus.probe(1_000), { timeoutMs: 10_000, what: 'a probe once Redis is up' });
      admin = new Redis(late.url);
      const subscribed = await admin.pubsub('CHANNELS', `${made.prefix}*`);
      expect(subscribed).toContain(probeChannel(made.prefix, 'pod-a'));
      expect(subscribed).not.toContain(roomKeys(made.prefix, room).channel);
    } finally {
      await admin?.quit();
      await made.cleanup();
      await late?.destroy();
    }
  });
});
