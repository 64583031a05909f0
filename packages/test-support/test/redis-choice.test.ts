/**
 * The test set-up's choice of Redis (issue 18 item 9): a Docker engine that answers but
 * cannot pull the image must not stop every test; the set-up falls back to a redis-server
 * from PATH (started for real here) and says so in one line.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { chooseRedis, type FoundRedis, type RedisSource } from '../src/redis-choice.ts';
import { hasBinary, startRedisProcess } from '../src/redis-server.ts';

/** What testcontainers throws when the engine answers but its image pull fails (an offline machine). */
const offlineDocker: RedisSource = {
  name: 'testcontainers',
  find: () =>
    Promise.reject(
      new Error('(HTTP code 500) server error - Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host\nat the pull'),
    ),
};

const localServer: RedisSource = {
  name: 'redis-server from PATH',
  async find(): Promise<FoundRedis | undefined> {
    if (!hasBinary('redis-server')) return undefined;
    const server = await startRedisProcess();
    return { url: server.url, teardown: () => server.destroy() };
  },
};

describe("the test set-up's Redis", () => {
  it('falls back to redis-server from PATH when Docker answers but cannot pull the image, and says so in one line', async () => {
    const lines: string[] = [];
    const found = await chooseRedis([offlineDocker, localServer], (line) => lines.push(line));
    expect(found).toBeDefined();
    const redis = new Redis((found as FoundRedis).url);
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
      await found?.teardown();
    }
    expect(lines).toEqual([
      expect.stringMatching(/^test Redis: testcontainers failed \(\(HTTP code 500\) server error[^\n]*\); trying redis-server from PATH$/),
    ]);
  });

  it('passes over sources that do not apply without a word, and gives undefined when none gives a Redis', async () => {
    const lines: string[] = [];
    const none: RedisSource = { name: 'none', find: () => Promise.resolve(undefined) };
    expect(await chooseRedis([none, offlineDocker], (line) => lines.push(line))).toBeUndefined();
    expect(lines).toEqual([expect.stringContaining('testcontainers failed')]);
    expect(lines[0]).toMatch(/trying nothing else$/);
  });
});
