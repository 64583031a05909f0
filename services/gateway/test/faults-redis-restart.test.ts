/**
 * Redis killed and restarted under traffic (a node reboot, an OOM kill of the Redis pod):
 * the gateways stay up, become ready again on their own, and once sets stop every client
 * shows what the store holds, with sets crossing pods as before (DESIGN.md invariant 4).
 * Redis runs with AOF fsync on every write, as the deployment files configure it (there:
 * everysec), so the rooms survive the kill.
 */
import { afterAll, expect, it } from 'vitest';
import { startRedisProcess, type RedisProcess } from '@cloudvars/test-support/redis-server';
import { TestClient, joinedTogether, until } from './support/client.ts';
import { startCluster, type TestCluster } from './support/cluster.ts';
import { membersAre } from './support/gateway.ts';
import { httpStatus } from './support/processes.ts';

const PLAYED = ['☁ x', '☁ y'] as const;
/** One per pod: a pod's last set lands after all its earlier ones (one store connection, FIFO). */
const MARKERS = ['☁ done0', '☁ done1', '☁ done2'] as const;
const WRITERS = 6;
/** Per writer; 6 writers stay well under the 30/s rate limit each. */
const SET_INTERVAL_MS = 50;
/** Readiness probes run every 5 s; these bound a failing run only. */
const READY_TIMEOUT_MS = 20_000;

let redis: RedisProcess | undefined;
let cluster: TestCluster | undefined;
const clients: TestClient[] = [];

afterAll(async () => {
  for (const client of clients) client.close();
  await cluster?.stop();
  await redis?.destroy();
});

it('keeps serving through a Redis kill and restart: clients converge on the stored values and sets cross pods again', async () => {
  redis = await startRedisProcess({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  cluster = await startCluster(redis.url);
  const { pods } = cluster;
  const store = pods[0]!.engine.store;
  const seq = async () => (await store.snapshot('restart'))?.seq ?? 0;
  const initial = Object.fromEntries([...PLAYED, ...MARKERS].map((name) => [name, '0']));
  const writers: TestClient[] = [];
  for (let i = 0; i < WRITERS; i++) {
    writers.push(await TestClient.join(pods[i % pods.length]!.url, 'restart', `writer${i}`, initial));
    if (i === 0) await membersAre(pods[0]!, 'restart', 1); // the first creates the room
  }
  clients.push(...writers);
  await membersAre(pods[0]!, 'restart', WRITERS);

  let writing = true;
  let setsWhileDown = 0;
  let redisDown = false;
  const traffic = Promise.all(
    writers.map(async (writer, index) => {
      for (let n = 0; writing; n++) {
        writer.set(PLAYED[n % PLAYED.length] as string, `${index}${String(n).padStart(5, '0')}`);
        if (redisDown) setsWhileDown++;
        await new Promise((resolve) => setTimeout(resolve, SET_INTERVAL_MS));
      }
    }),
  );
  const allReady = (ready: boolean) => pods.every((pod) => (pod.readiness.reason() === null) === ready);

  await until(async () => (await seq()) >= 30, { what: 'traffic stored before the kill' });
  await redis.stop('SIGKILL');
  redisDown = true;
  await until(() => allReady(false), { what: 'every pod to notice Redis is gone' });
  await until(() => setsWhileDown >= WRITERS * 2, { what: 'sets made while Redis is down' });
  await redis.restart();
  redisDown = false;
  await until(() => allReady(true), { timeoutMs: READY_TIMEOUT_MS, what: 'every pod ready again' });
  const afterRestart = await seq();
  expect(afterRestart).toBeGreaterThanOrEqual(30); // AOF kept the room and its counter
  await until(async () => (await seq()) >= afterRestart + 30, { what: 'traffic stored again after the restart' });

  writing = false;
  await traffic;
  MARKERS.forEach((marker, pod) => writers[pod]!.set(marker, '1'));
  await until(
    async () => {
      const stored = new Map((await store.snapshot('restart'))?.variables ?? []);
      return MARKERS.every((marker) => stored.get(marker) === '1');
    },
    { what: "every pod's last set stored" },
  );

  const newcomer = await TestClient.join(pods[1]!.url, 'restart', 'newcomer', initial);
  clients.push(newcomer);
  await newcomer.waitFrames(1); // the snapshot: the newcomer's view is now the store's
  const stored = new Map(PLAYED.map((name) => [name, newcomer.view.get(name)]));
  const matches = (client: TestClient) => PLAYED.every((name) => client.view.get(name) === stored.get(name));
  // Views settle as the last frames arrive; the timeout only bounds a failing run.
  await until(() => writers.every(matches), { what: 'every view to settle' }).catch(() => undefined);
  const diverged = writers.flatMap((writer, i) => (matches(writer) ? [] : [[`writer${i}`, Object.fromEntries(writer.view)]]));
  expect(Object.fromEntries(diverged)).toEqual({});

  await joinedTogether(writers[0]!, writers[2]!, '☁ x', '424242');
  await joinedTogether(writers[2]!, writers[1]!, '☁ y', '434343');
  expect(writers.map((writer) => writer.closed)).toEqual(writers.map(() => null));
  expect(await Promise.all(pods.map((pod) => httpStatus(pod.httpUrl, '/healthz')))).toEqual([200, 200, 200]);
}, 90_000);
