/**
 * Builds Redis engines for tests: two "pods" on one Redis and one fresh key prefix, and
 * removes the prefix's keys afterwards (the Redis may be shared through REDIS_URL).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisEngine, type EngineLimits, type EngineStatusEvent, type RoomEngine } from '@cloudvars/rooms';

export function testPrefix(): string {
  return `test:${randomUUID()}:`;
}

/** Two "pods" (engines) on one Redis and one key prefix. */
export interface RedisPods {
  readonly engines: readonly [RoomEngine, RoomEngine];
  readonly prefix: string;
  /** Everything either engine reported through `onStatus`, in order. */
  readonly statuses: EngineStatusEvent[];
  cleanup(): Promise<void>;
}

export async function redisPods(
  url: string,
  options: { limits: EngineLimits; now?: () => number; prefix?: string; commandTimeoutMs?: number },
): Promise<RedisPods> {
  const prefix = options.prefix ?? testPrefix();
  const statuses: EngineStatusEvent[] = [];
  const make = (podId: string): RoomEngine =>
    createRedisEngine({
      url,
      keyPrefix: prefix,
      limits: options.limits,
      podId,
      onStatus: (event) => statuses.push(event),
      ...(options.now ? { now: options.now } : {}),
      ...(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
    });
  const engines = [make('pod-a'), make('pod-b')] as const;
  return {
    engines,
    prefix,
    statuses,
    async cleanup() {
      await Promise.all(engines.map((engine) => engine.close()));
      if (url.startsWith('redis://') || url.startsWith('rediss://')) await deletePrefix(url, prefix);
    },
  };
}

/** SCAN + UNLINK every key under the prefix, on a standalone Redis. */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}
