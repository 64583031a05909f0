/**
 * An operator's action that lands while a pod's bus is down (issue 18 item 4): the pod's
 * subscriber is killed (`CLIENT KILL TYPE pubsub`), the kick or the room's deletion is
 * published meanwhile and lost on that pod, and the resync's snapshot covers its seq while
 * holding nothing of it. The pod catches up on the actions the store keeps
 * (RoomStore.catchUp): every client the API said it kicked is closed with 4002, and every
 * client of a deleted room with 4010, on every pod.
 */
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, podsPerTest, roomPath } from './support/api.ts';
import { TestClient, until } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import { membersAre, type RunningGateway } from './support/gateway.ts';

/** Rounds of kill-then-act: one could miss the gap by luck, five in a row do not. */
const ROUNDS = 5;

let raw: Redis | undefined;
beforeAll(() => {
  raw = new Redis(redisUrl());
});
afterAll(async () => {
  await raw?.quit();
});

/** Subscriber connections Redis has (of every test running on it: at least both pods'). */
async function subscribers(): Promise<number> {
  const list = String(await (raw as Redis).call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  return list.split('\n').filter((line) => line.trim() !== '').length;
}

/** Once both pods' subscribers are up (again), kills every subscriber connection. */
async function killSubscribers(): Promise<void> {
  await until(async () => (await subscribers()) >= 2, { what: "both pods' subscribers to be up" });
  expect(await (raw as Redis).client('KILL', 'TYPE', 'pubsub')).toBeGreaterThanOrEqual(2);
}

/** One client of `user` in each of ROUNDS rooms named `<label>-<i>`, on the two pods in turn. */
async function oneClientPerRoom(pods: readonly [RunningGateway, RunningGateway], label: string, user: string): Promise<TestClient[]> {
  const clients: TestClient[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const room = `${label}-${i}`;
    clients.push(await TestClient.join(pods[i % 2]!.url, room, user, { [cloud('x')]: '0' }, 'scratch'));
    await membersAre(pods[0], room, 1);
  }
  return clients;
}

/** Each client is closed with `code`. */
async function allClosedWith(clients: readonly TestClient[], code: number): Promise<void> {
  for (const [i, client] of clients.entries()) {
    await until(() => client.closed !== null, { what: `client ${i} to be closed`, timeoutMs: 20_000 });
    expect(client.closed?.code, `client ${i}`).toBe(code);
  }
}

describe("operators' actions during a resync (redis)", () => {
  const { pods } = podsPerTest('redis');

  it("closes every kicked client (4002) though the kick was published while the pods' subscribers were down", async () => {
    const [a, b] = await pods();
    const clients = await oneClientPerRoom([a, b], 'kick-during-resync', 'griefer');
    for (let i = 0; i < ROUNDS; i++) {
      await killSubscribers();
      const answer = await admin(a.httpUrl, 'POST', `${roomPath(`kick-during-resync-${i}`)}/kick`, { user: 'griefer' });
      expect(answer.status).toBe(200);
    }
    await allClosedWith(clients, 4002);
  });

  it("closes every client of a room deleted while the pods' subscribers were down (4010)", async () => {
    const [a, b] = await pods();
    const clients = await oneClientPerRoom([a, b], 'delete-during-resync', 'player');
    for (let i = 0; i < ROUNDS; i++) {
      await killSubscribers();
      expect((await admin(b.httpUrl, 'DELETE', roomPath(`delete-during-resync-${i}`))).status).toBe(200);
    }
    await allClosedWith(clients, 4010);
  });
});
