/**
 * Value types survive a Redis kill and restart (issue 17 item 1): the store keeps the type in
 * its text, so after AOF replays the room a Scratch 3 client joining on either pod receives
 * the numbers as numbers and the strings as strings, and a 2020 client their text.
 */
import { afterAll, expect, it } from 'vitest';
import { startRedisProcess, type RedisProcess } from '@cloudvars/test-support/redis-server';
import { TestClient, until } from './support/client.ts';
import { startCluster, type TestCluster } from './support/cluster.ts';
import { membersAre } from './support/gateway.ts';

/** Readiness probes run every 5 s; this bounds a failing run only. */
const READY_TIMEOUT_MS = 20_000;

let redis: RedisProcess | undefined;
let cluster: TestCluster | undefined;
const clients: TestClient[] = [];

afterAll(async () => {
  for (const client of clients) client.close();
  await cluster?.stop();
  await redis?.destroy();
});

/** The JSON value of every set a client received, the last per name. */
function typedView(client: TestClient): Map<string, unknown> {
  const view = new Map<string, unknown>();
  for (const line of client.frames.flatMap((frame) => frame.split('\n'))) {
    const message = JSON.parse(line) as { name?: string; value?: unknown };
    if (message.name !== undefined) view.set(message.name, message.value);
  }
  return view;
}

it('keeps numbers numbers and strings strings through a Redis kill and restart, on every pod', async () => {
  redis = await startRedisProcess({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  cluster = await startCluster(redis.url, {}, 2);
  const [a, b] = cluster.pods;
  if (a === undefined || b === undefined) throw new Error('two pods expected');
  const room = 'restart-types';
  const writer = await TestClient.join(a.url, room, 'writer', {}, 'scratch');
  clients.push(writer);
  await membersAre(a, room, 1);
  const sent = { '☁ n': 42, '☁ s': '42', '☁ f': -0.25, '☁ e': '' };
  writer.send(
    Object.entries(sent)
      .map(([name, value]) => JSON.stringify({ method: 'set', name, value }))
      .join('\n'),
  );
  await until(async () => (await a.engine.store.snapshot(room))?.variables.length === 4, { what: 'the sets stored' });
  writer.close();
  await membersAre(a, room, 0);

  await redis.stop('SIGKILL');
  await redis.restart();
  const ready = (): boolean => cluster?.pods.every((pod) => pod.readiness.reason() === null) === true;
  await until(ready, { timeoutMs: READY_TIMEOUT_MS, what: 'every pod ready again' });

  for (const pod of [a, b]) {
    const reader = await TestClient.join(pod.url, room, 'reader', {}, 'scratch');
    clients.push(reader);
    await until(() => typedView(reader).size === 4, { what: 'the snapshot after the restart' });
    expect(Object.fromEntries(typedView(reader))).toEqual(sent);
  }
  const old = await TestClient.join(b.url, room, 'oldtimer', { '☁ n': '0', '☁ s': '0' }, 'seed');
  clients.push(old);
  await until(() => old.frames.length > 0, { what: "the 2020 client's snapshot" });
  expect([old.view.get('☁ n'), old.view.get('☁ s')]).toEqual(['42', '42']);
}, 60_000);
