import { afterEach, describe, expect, it } from 'vitest';
import { redisUrl } from '../../../packages/rooms/test/support/redis-url.ts';
import { TestClient, until } from './support/client.ts';
import { startCluster, type TestCluster } from './support/cluster.ts';
import { membersAre } from './support/gateway.ts';
import { runConvergence } from './support/convergence.ts';

const VARS = { '☁ a': '0', '☁ b': '0' };

describe('three gateways sharing one Redis', () => {
  let cluster: TestCluster;
  afterEach(async () => {
    await cluster.stop();
  });

  it('delivers a set made on one pod to clients on the other pods, each in its own dialect', async () => {
    cluster = await startCluster(redisUrl());
    const seed = await TestClient.join(cluster.pods[0]!.url, 'xpod', 'seedy', VARS, 'seed');
    await membersAre(cluster.pods[0]!, 'xpod', 1);
    const legacy = await TestClient.join(cluster.pods[1]!.url, 'xpod', 'legacy', VARS, 'legacy');
    const third = await TestClient.join(cluster.pods[2]!.url, 'xpod', 'third', VARS, 'seed');
    await membersAre(cluster.pods[0]!, 'xpod', 3);

    seed.set('☁ a', '11');
    await until(() => legacy.view.get('☁ a') === '11' && third.view.get('☁ a') === '11');
    expect(legacy.frames.at(-1)).toBe('{"kind":"set","var":"☁ a","value":"11"}');
    expect(third.frames.at(-1)).toBe('{"kind":"set","variable":"☁ a","value":"11"}');

    legacy.set('☁ b', '22');
    await until(() => seed.view.get('☁ b') === '22' && third.view.get('☁ b') === '22');
    expect(seed.frames.at(-1)).toBe('{"kind":"set","variable":"☁ b","value":"22"}');
    // The sender may get its own value echoed (its write came right after frames of ours,
    // so it may have crossed one), but never another value of the variable it wrote.
    const laterLinesOfB = legacy.frames.slice(1).flatMap((frame) => frame.split('\n')).filter((line) => line.includes('☁ b'));
    expect(laterLinesOfB.every((line) => line === '{"kind":"set","var":"☁ b","value":"22"}')).toBe(true);
    expect(legacy.view.get('☁ b')).toBe('22');
  });

  it('gives a client joining on another pod the room\'s current values in one frame', async () => {
    cluster = await startCluster(redisUrl());
    const writer = await TestClient.join(cluster.pods[0]!.url, 'snapx', 'writer', VARS);
    await membersAre(cluster.pods[0]!, 'snapx', 1);
    writer.set('☁ b', '5');
    await until(async () => (await cluster.pods[1]!.engine.store.snapshot('snapx'))?.seq === 1);
    const reader = await TestClient.join(cluster.pods[2]!.url, 'snapx', 'reader', VARS);
    expect(await reader.waitFrames(1)).toEqual(['{"kind":"set","variable":"☁ a","value":"0"}\n{"kind":"set","variable":"☁ b","value":"5"}']);
  });

  it('refuses a username already used on another pod with 4002, case-insensitively', async () => {
    cluster = await startCluster(redisUrl());
    await TestClient.join(cluster.pods[0]!.url, 'names', 'Player1', VARS);
    await membersAre(cluster.pods[0]!, 'names', 1);
    const twin = await TestClient.join(cluster.pods[1]!.url, 'names', 'player1', VARS);
    expect((await twin.waitClose()).code).toBe(4002);
  });

  it('refuses a client with 4003 when the room is full across pods', async () => {
    cluster = await startCluster(redisUrl(), { MAX_CLIENTS_PER_ROOM: '2' });
    await TestClient.join(cluster.pods[0]!.url, 'full', 'first', VARS);
    await membersAre(cluster.pods[0]!, 'full', 1);
    await TestClient.join(cluster.pods[1]!.url, 'full', 'second', VARS);
    await membersAre(cluster.pods[0]!, 'full', 2);
    const third = await TestClient.join(cluster.pods[2]!.url, 'full', 'third', VARS);
    expect((await third.waitClose()).code).toBe(4003);
  });

  it('converges 8 concurrent writers spread over the three pods, in 20 of 20 runs', async () => {
    cluster = await startCluster(redisUrl());
    const urls = cluster.pods.map((pod) => pod.url);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, run) => runConvergence({ urls, room: `xconv-${run}`, store: cluster.pods[0]!.engine.store })),
    );
    for (const outcome of outcomes) {
      expect(Object.fromEntries(outcome.diverged)).toEqual({});
    }
  }, 60_000);
});
