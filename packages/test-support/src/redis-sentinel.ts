/**
 * A Sentinel setup on loopback: one primary, one replica, one sentinel (quorum 1), so a
 * forced `SENTINEL FAILOVER` promotes the replica within a few seconds.
 */
import { Redis } from 'ioredis';
import { startRedisProcess, type RedisProcess } from './redis-server.ts';
import { until } from './until.ts';

export const MASTER_NAME = 'cloudvars';

export interface RedisSentinelProcesses {
  readonly primary: RedisProcess;
  readonly replica: RedisProcess;
  readonly sentinel: RedisProcess;
  /** `redis-sentinel://127.0.0.1:<sentinel port>/<MASTER_NAME>` */
  readonly url: string;
  /** A client to the sentinel, for SENTINEL commands. */
  readonly control: Redis;
  /** The port Sentinel currently names as the primary. */
  primaryPort(): Promise<number>;
  destroy(): Promise<void>;
}

function fields(flat: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (!Array.isArray(flat)) return map;
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(String(flat[i]), String(flat[i + 1]));
  return map;
}

export async function startRedisSentinel(): Promise<RedisSentinelProcesses> {
  const started: RedisProcess[] = [];
  let control: Redis | undefined;
  const destroy = async (): Promise<void> => {
    control?.disconnect();
    await Promise.all(started.map((process) => process.destroy()));
  };
  try {
    const primary = await startRedisProcess();
    started.push(primary);
    const replica = await startRedisProcess({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    started.push(replica);
    const sentinel = await startRedisProcess({
      binary: 'redis-sentinel',
      config: [
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 10000`,
        '',
      ].join('\n'),
    });
    started.push(sentinel);
    const client = new Redis({ host: '127.0.0.1', port: sentinel.port, maxRetriesPerRequest: 1 });
    control = client;
    // A failover needs a replica that Sentinel knows and considers healthy.
    await until(
      async () => {
        const replicas: unknown = await client.call('SENTINEL', 'REPLICAS', MASTER_NAME);
        return Array.isArray(replicas) && replicas.map(fields).some((r) => r.get('flags') === 'slave' && r.get('master-link-status') === 'ok');
      },
      { timeoutMs: 15_000, what: 'sentinel to see a healthy replica' },
    );
    return {
      primary,
      replica,
      sentinel,
      control: client,
      url: `redis-sentinel://127.0.0.1:${sentinel.port}/${MASTER_NAME}`,
      async primaryPort() {
        const address: unknown = await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME);
        return Array.isArray(address) ? Number(address[1]) : Number.NaN;
      },
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}
