/**
 * A gateway that starts before its Redis (compose and Kubernetes start them in any order):
 * it listens at once, says it is not ready, and becomes ready and usable once Redis comes
 * up, without a restart.
 */
import { afterEach, expect, it } from 'vitest';
import { freePort, startRedisProcess, type RedisProcess } from '@cloudvars/test-support/redis-server';
import { testPrefix } from '@cloudvars/test-support/redis-engines';
import { TestClient, joinedTogether, until } from './support/client.ts';
import { httpStatus, startGatewayProcess, type GatewayProcess } from './support/processes.ts';

/** The readiness probe runs every 5 s; this bounds a failing run only. */
const READY_TIMEOUT_MS = 20_000;

let gateway: GatewayProcess | undefined;
let redis: RedisProcess | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients) client.close();
  await gateway?.stop();
  await redis?.destroy();
});

it('listens while Redis is down, fails /readyz, and becomes ready and serves rooms once Redis starts', async () => {
  const port = await freePort();
  gateway = await startGatewayProcess({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_PREFIX: testPrefix(), POD_ID: 'early' });

  expect(await httpStatus(gateway.httpUrl, '/healthz')).toBe(200);
  expect(await httpStatus(gateway.httpUrl, '/readyz')).toBe(503);

  redis = await startRedisProcess({ port });
  await until(async () => (await httpStatus(gateway!.httpUrl, '/readyz')) === 200, { timeoutMs: READY_TIMEOUT_MS, what: '/readyz 200' });

  // The first client must have created the room before the second joins, or the snapshot
  // goes the other way: a seed client's join has no reply, so the room's count tells.
  const first = await TestClient.join(gateway.url, 'late', 'first', { '☁ n': '0' });
  clients.push(first);
  await until(async () => (await roomClients(gateway!.httpUrl, 'late')) === 1, { what: 'first to join' });
  const second = await TestClient.join(gateway.url, 'late', 'second', { '☁ n': '0' });
  clients.push(second);
  await second.waitFrames(1); // the snapshot: second joined the room first created
  await joinedTogether(first, second, '☁ n', '7');
  expect(gateway.child.exitCode).toBeNull();
}, 60_000);

async function roomClients(httpUrl: string, room: string): Promise<number> {
  const response = await fetch(`${httpUrl}/api/v1/rooms/${room}`);
  return response.ok ? ((await response.json()) as { clients: number }).clients : 0;
}
