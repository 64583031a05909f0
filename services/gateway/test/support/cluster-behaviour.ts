/**
 * What users of a cluster see, whichever pod the load balancer picked: one suite, run on
 * gateways in this process (cluster.test.ts) and on gateway processes (processes.test.ts).
 */
import type { RoomStore } from '@cloudvars/rooms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, until } from './client.ts';
import { testSeed } from '@cloudvars/test-support/seeded-random';
import { replayHint, runConvergence } from './convergence.ts';

export interface ClusterUnderTest {
  /** One WebSocket URL per pod (at least three). */
  readonly urls: readonly string[];
  /** The cluster's store, to observe rooms. */
  readonly store: RoomStore;
  stop(): Promise<void>;
}

/** The convergence room holds 8 writers and a newcomer; a 10th client finds a room full. */
export const CLUSTER_SETTINGS = { MAX_CLIENTS_PER_ROOM: '9', MAX_CONNECTIONS_PER_ADDRESS: '1000' } as const;
const ROOM_CAPACITY = 9;
const VARS = { '☁ a': '0', '☁ b': '0' };

export function describeClusterBehaviour(title: string, start: () => Promise<ClusterUnderTest>): void {
  describe(title, () => {
    let cluster: ClusterUnderTest;
    const clients: TestClient[] = [];
    const join = async (pod: number, room: string, username: string, dialect: 'seed' | 'legacy' = 'seed') => {
      const client = await TestClient.join(cluster.urls[pod % cluster.urls.length] as string, room, username, VARS, dialect);
      clients.push(client);
      return client;
    };
    const membersAre = (room: string, count: number) =>
      until(async () => (await cluster.store.memberCount(room)) === count, { what: `${count} members in ${room}` });

    beforeAll(async () => {
      cluster = await start();
    }, 60_000);
    afterAll(async () => {
      for (const client of clients) client.close();
      await cluster?.stop();
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
      // The sender may get its own value echoed (its write came right after a value of
      // ours, which it may have crossed), but never another value of the variable it wrote.
      const laterLinesOfB = legacy.frames
        .slice(1)
        .flatMap((frame) => frame.split('\n'))
        .filter((line) => line.includes('☁ b'));
      expect(laterLinesOfB.every((line) => line === '{"kind":"set","var":"☁ b","value":"22"}')).toBe(true);
      expect(legacy.view.get('☁ b')).toBe('22');
    });

    it("gives a client joining on another pod the room's current values in one frame", async () => {
      const writer = await join(0, 'snapx', 'writer');
      await membersAre('snapx', 1);
      writer.set('☁ b', '5');
      await until(async () => (await cluster.store.snapshot('snapx'))?.seq === 1, { what: 'the set stored' });
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
      for (let i = 0; i < ROOM_CAPACITY; i++) await join(i, 'full', `member${i}`);
      await membersAre('full', ROOM_CAPACITY);
      const extra = await join(1, 'full', 'extra');
      expect((await extra.waitClose()).code).toBe(4003);
    });

    it('converges 8 concurrent writers of every dialect spread over the pods, in 20 of 20 runs', async () => {
      const seed = testSeed();
      const dialects = ['seed', 'scratch', 'legacy', 'scratch'] as const;
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, run) => runConvergence({ urls: cluster.urls, room: `conv-${run}`, store: cluster.store, seed: seed + run, dialects })),
      );
      for (const outcome of outcomes) expect(Object.fromEntries(outcome.diverged), replayHint(outcome)).toEqual({});
    }, 60_000);
  });
}
