/**
 * A gateway pod killed with SIGKILL (OOM killer, node loss) cannot release anything: its
 * users' names and room slots must come free on their own, within LEASE_TTL_MS, while
 * users on the other pods carry on (DESIGN.md invariant 5).
 */
import { createRedisEngine, type RoomEngine } from '@cloudvars/rooms';
import { afterAll, expect, it } from 'vitest';
import { testPrefix } from '@cloudvars/test-support/redis-engines';
import { startRedisProcess, type RedisProcess } from '@cloudvars/test-support/redis-server';
import { loadConfig } from '../src/config.ts';
import { engineLimits } from '../src/engine.ts';
import { TestClient, joinedTogether, until } from './support/client.ts';
import { startGatewayProcess, type GatewayProcess } from './support/processes.ts';

const LEASE_TTL_MS = 2_000;
const SETTINGS = { LEASE_TTL_MS: String(LEASE_TTL_MS), MAX_CLIENTS_PER_ROOM: '2' };
const VARS = { '☁ n': '0' };
/** A reconnecting client's pause between attempts; keeps the survivors under the rate limit. */
const RETRY_PAUSE_MS = 100;

let redis: RedisProcess;
let pods: GatewayProcess[] = [];
let engine: RoomEngine;
const clients: TestClient[] = [];

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(pods.map((pod) => pod.stop()));
  await engine?.close();
  await redis?.destroy();
});

async function join(pod: number, room: string, username: string): Promise<TestClient> {
  const client = await TestClient.join(pods[pod]!.url, room, username, VARS);
  clients.push(client);
  return client;
}

/** Joins an existing room: 'joined' once its snapshot arrives, else the refusal's close code. */
async function tryJoin(pod: number, room: string, username: string): Promise<'joined' | number> {
  const client = await join(pod, room, username);
  await until(() => client.frames.length > 0 || client.closed !== null, { what: `${username} answered` });
  return client.closed?.code ?? 'joined';
}

it("frees a SIGKILLed pod's usernames and room slots within the lease TTL, while other pods' clients keep exchanging sets", async () => {
  redis = await startRedisProcess();
  const prefix = testPrefix();
  const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, ...SETTINGS };
  pods = await Promise.all([0, 1, 2].map((i) => startGatewayProcess({ ...env, POD_ID: `kill${i}` })));
  engine = createRedisEngine({ url: redis.url, keyPrefix: prefix, limits: engineLimits(loadConfig(SETTINGS)), podId: 'observer' });
  const membersAre = (room: string, count: number) =>
    until(async () => (await engine.store.memberCount(room)) === count, { what: `${count} members in ${room}` });

  // On the doomed pod 0: a username, and one of the two slots of a full room.
  await join(0, 'names', 'alice');
  await join(0, 'pair', 'first');
  await membersAre('pair', 1);
  await join(1, 'pair', 'second');
  await membersAre('names', 1);
  await membersAre('pair', 2);
  // On the surviving pods: two users who play on through the kill.
  const left = await join(1, 'others', 'left');
  await membersAre('others', 1);
  const right = await join(2, 'others', 'right');
  await right.waitFrames(1);
  await joinedTogether(left, right, '☁ n', '1');

  expect(await tryJoin(1, 'names', 'ALICE')).toBe(4002);
  expect(await tryJoin(2, 'pair', 'third')).toBe(4003);

  pods[0]!.kill('SIGKILL');
  expect(await pods[0]!.exited).toEqual({ code: null, signal: 'SIGKILL' });

  const refusals: number[] = [];
  let nameFree = false;
  let slotFree = false;
  let exchanged = 1;
  await until(
    async () => {
      if (!nameFree) {
        const outcome = await tryJoin(1, 'names', 'ALICE');
        if (outcome === 'joined') nameFree = true;
        else refusals.push(outcome);
      }
      if (!slotFree) {
        const outcome = await tryJoin(2, 'pair', 'third');
        if (outcome === 'joined') slotFree = true;
        else refusals.push(outcome);
      }
      const [from, to] = exchanged % 2 === 0 ? [left, right] : [right, left];
      await joinedTogether(from, to, '☁ n', String(++exchanged));
      await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      return nameFree && slotFree;
    },
    // Bounds a failing run: the leases lapse within one TTL; renewals run every TTL/3.
    { timeoutMs: 3 * LEASE_TTL_MS, what: "the killed pod's name and slot to come free" },
  );

  // Refused only as "taken" or "full" meanwhile, never as a server fault.
  expect(refusals.filter((code) => code !== 4002 && code !== 4003)).toEqual([]);
  expect([left.closed, right.closed]).toEqual([null, null]);
  expect(exchanged).toBeGreaterThan(1);
  expect(pods.slice(1).map((pod) => pod.child.exitCode)).toEqual([null, null]);
}, 60_000);
