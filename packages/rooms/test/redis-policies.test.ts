import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshRoom, roomyLimits } from './contract/harness.ts';
import { redisPods } from '@cloudvars/test-support/redis-engines';
import { hasBinary, startRedisProcess, type RedisProcess } from '@cloudvars/test-support/redis-server';
import { until } from '@cloudvars/test-support/until';

/** Project policies on a private Redis with AOF, as every deployment file runs it. */
describe.skipIf(!hasBinary('redis-server'))('project policies on a redis-server with AOF', () => {
  let server: RedisProcess;
  beforeAll(async () => {
    server = await startRedisProcess({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  });
  afterAll(async () => {
    await server.destroy();
  });

  it('keeps every policy across a Redis restart, and pods hear of changes made after it', async () => {
    const made = await redisPods(server.url, { limits: roomyLimits });
    const [a, b] = made.engines;
    const room = freshRoom();
    try {
      await a.policies.put(room, '{"blocked":true}');
      const version = await a.policies.version();
      await server.restart();
      await until(() => a.isConnected() && b.isConnected(), { timeoutMs: 15_000, what: 'both pods connected again' });
      expect(await b.policies.get(room)).toBe('{"blocked":true}');
      expect(await b.policies.version()).toBe(version);
      // The channel is subscribed again after the reconnect.
      const heard: string[] = [];
      b.policies.watch((changed) => heard.push(changed));
      await a.policies.put(room, '{"frozen":true}');
      await until(() => heard.includes(room), { what: 'the notice after the restart' });
    } finally {
      await made.cleanup();
    }
  });
});
