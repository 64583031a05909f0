/**
 * A pod cut off from Redis for longer than a lease (issue 13 #4): its clients' leases lapse,
 * the rest of the cluster rightly reuses their username and room slot, and when the link
 * comes back the pod must not keep them as zombies (connected, counted nowhere, holding a
 * name another client now has): their renewal fails and they are closed with 1012, so they
 * reconnect and join through every check again.
 */
import { createRedisEngine } from '@cloudvars/rooms';
import { testPrefix, deletePrefix } from '@cloudvars/test-support/redis-engines';
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { startTcpProxy, type TcpProxy } from '@cloudvars/test-support/tcp-proxy';
import { afterEach, expect, it } from 'vitest';
import { engineLimits } from '../src/engine.ts';
import { TestClient, until } from './support/client.ts';
import { startGateway, type RunningGateway } from './support/gateway.ts';

const LEASE_TTL_MS = 1_000;

const opened: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.stop();
});

async function pod(url: string, prefix: string, podId: string): Promise<RunningGateway> {
  const gateway = await startGateway({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix, LEASE_TTL_MS: String(LEASE_TTL_MS), MAX_CLIENTS_PER_ROOM: '1' }, (config) =>
    createRedisEngine({ url, keyPrefix: prefix, limits: engineLimits(config), podId }),
  );
  opened.push({ stop: () => gateway.stop() });
  return gateway;
}

it('closes with 1012 a client whose lease lapsed while its pod was cut off, once the room gave its name and slot to another', async () => {
  const direct = redisUrl();
  const prefix = testPrefix();
  opened.push({ stop: () => deletePrefix(direct, prefix) });
  const proxy: TcpProxy = await startTcpProxy(Number(new URL(direct).port));
  opened.push({ stop: () => proxy.close() });
  const cutOff = await pod(`redis://127.0.0.1:${proxy.port}`, prefix, 'cut-off');
  const healthy = await pod(direct, prefix, 'healthy');
  const room = 'partition';

  const zombie = await TestClient.join(cutOff.url, room, 'alice', { '☁ a': '0' });
  await until(async () => (await healthy.engine.store.memberCount(room)) === 1, { what: 'alice joined' });

  proxy.blackhole();
  // The rest of the cluster sees alice's lease lapse, then gives her name and the room's one
  // slot to a newcomer.
  await until(async () => (await healthy.engine.store.memberCount(room)) === 0, { what: "alice's lease lapsed", timeoutMs: 10_000 });
  const newcomer = await TestClient.join(healthy.url, room, 'ALICE', { '☁ a': '0' });
  await until(async () => (await healthy.engine.store.memberCount(room)) === 1, { what: 'the newcomer joined' });

  proxy.heal();
  expect((await zombie.waitClose()).code).toBe(1012);
  expect(await healthy.engine.store.memberCount(room)).toBe(1);
  expect(newcomer.closed).toBeNull();
  const lost = await cutOff.metrics.leasesLost.get();
  expect(lost.values[0]?.value).toBe(1);
}, 60_000);
