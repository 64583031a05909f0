/**
 * The cluster as compose runs it: one redis-server and three gateway processes started
 * with `pnpm start` semantics, sharing one key prefix. Users see one service whichever
 * pod the load balancer picked.
 */
import { createRedisEngine, type RoomEngine } from '@cloudvars/rooms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPrefix } from '../../../packages/rooms/test/support/redis-engines.ts';
import { startRedisProcess, type RedisProcess } from '../../../packages/rooms/test/support/redis-server.ts';
import { loadConfig } from '../src/config.ts';
import { engineLimits } from '../src/engine.ts';
import { TestClient, until } from './support/client.ts';
import { runConvergence } from './support/convergence.ts';
import { startGatewayProcess, type GatewayProcess } from './support/processes.ts';

const VARS = { '☁ a': '0', '☁ b': '0' };
/** The convergence room holds 8 writers and a newcomer; a 10th client finds it full. */
const SETTINGS = { MAX_CLIENTS_PER_ROOM: '9', MAX_CONNECTIONS_PER_ADDRESS: '1000' };

describe('three gateway processes on one redis-server', () => {
  let redis: RedisProcess;
  let pods: GatewayProcess[] = [];
  let engine: RoomEngine;
  const clients: TestClient[] = [];

  const join = async (pod: number, room: string, username: string, dialect: 'seed' | 'legacy' = 'seed') => {
    const client = await TestClient.join(pods[pod]!.url, room, username, VARS, dialect);
    clients.push(client);
    return client;
  };
  const membersAre = (room: string, count: number) =>
    until(async () => (await engine.store.memberCount(room)) === count, { what: `${count} members in ${room}` });

  beforeAll(async () => {
    redis = await startRedisProcess();
    const prefix = testPrefix();
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, ...SETTINGS };
    pods = await Promise.all([0, 1, 2].map((i) => startGatewayProcess({ ...env, POD_ID: `proc${i}` })));
    engine = createRedisEngine({ url: redis.url, keyPrefix: prefix, limits: engineLimits(loadConfig(SETTINGS)), podId: 'observer' });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    const exits = await Promise.all(pods.map((pod) => pod.stop()));
    await engine?.close();
    await redis?.destroy();
    // A drained gateway exits 0 (the contract for SIGTERM).
    expect(exits).toEqual(pods.map(() => ({ code: 0, signal: null })));
  }, 30_000);

  it('delivers a set made on one pod to clients on the other pods, each in its own dialect', async () => {
    const seed = await join(0, 'xpod', 'seedy', 'seed');
    await membersAre('xpod', 1);
    const legacy = await join(1, 'xpod', 'legacy', 'legacy');
    const third = await join(2, 'xpod', 'third', 'seed');
    await membersAre('xpod', 3);

    seed.set('☁ a', '11');
    await until(() => legacy.view.get('☁ a') === '11' && third.view.get('☁ a') === '11');
    expect(legacy.frames.at(-1)).toBe('{"kind":"set","var":"☁ a","value":"11"}');
    expect(third.frames.at(-1)).toBe('{"kind":"set","variable":"☁ a","value":"11"}');

    legacy.set('☁ b', '22');
    await until(() => seed.view.get('☁ b') === '22' && third.view.get('☁ b') === '22');
    expect(seed.frames.at(-1)).toBe('{"kind":"set","variable":"☁ b","value":"22"}');
    // The sender may get its own value echoed (PROTOCOL.md allows it), never another one.
    expect(legacy.frames.slice(1).filter((frame) => frame.includes('☁ b') && !frame.includes('"22"'))).toEqual([]);
    expect(legacy.view.get('☁ b')).toBe('22');
  });

  it("gives a client joining on another pod the room's current values in one frame", async () => {
    const writer = await join(0, 'snapx', 'writer');
    await membersAre('snapx', 1);
    writer.set('☁ b', '5');
    await until(async () => (await engine.store.snapshot('snapx'))?.seq === 1, { what: 'the set stored' });
    const reader = await join(2, 'snapx', 'reader');
    expect(await reader.waitFrames(1)).toEqual(['{"kind":"set","variable":"☁ a","value":"0"}\n{"kind":"set","variable":"☁ b","value":"5"}']);
  });

  it('refuses a username already used on another pod with 4002, case-insensitively', async () => {
    await join(0, 'names', 'Player1');
    await membersAre('names', 1);
    const twin = await join(1, 'names', 'player1');
    expect((await twin.waitClose()).code).toBe(4002);
  });

  it('refuses a client with 4003 when the room is full across pods', async () => {
    for (let i = 0; i < 9; i++) await join(i % 3, 'full', `member${i}`);
    await membersAre('full', 9);
    const extra = await join(1, 'full', 'extra');
    expect((await extra.waitClose()).code).toBe(4003);
  });

  it('converges 8 concurrent writers spread over the three processes, in 20 of 20 runs', async () => {
    const urls = pods.map((pod) => pod.url);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, run) => runConvergence({ urls, room: `pconv-${run}`, store: engine.store, clients: 8 })),
    );
    for (const outcome of outcomes) {
      expect(Object.fromEntries(outcome.diverged)).toEqual({});
    }
  }, 60_000);
});
