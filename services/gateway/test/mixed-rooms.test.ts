/**
 * Rooms as the store keeps them for both eras (docs/PROTOCOL.md "Joining", "Mixed rooms"),
 * as clients see it, on one node and on two pods sharing Redis: a 2020 handshake holds the
 * room's byte budget, deletes nothing and is locked out by nobody in a room others wrote to,
 * and a pod mirroring a room (a live viewer) follows a 2020 migration made on another pod.
 */
import { storeValue } from '@cloudvars/protocol';
import type { VariableEntry } from '@cloudvars/rooms';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { engineLimits } from '../src/engine.ts';
import { admin, call, podsPerTest, roomPath } from './support/api.ts';
import { TestClient, until } from './support/client.ts';
import { cloud, handshakeOf, refusal, serverSet } from './support/conformance.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';
import { lossyEngine, type BusFaults } from './support/lossy-engine.ts';
import { TARGET_KINDS } from './support/targets.ts';

let roomCounter = 0;
const freshRoom = (): string => `mixed-${++roomCounter}-${Math.random().toString(36).slice(2, 8)}`;

/** Bytes of a room's names and values, as MAX_ROOM_BYTES counts them. */
const bytesOf = (variables: readonly VariableEntry[]): number =>
  variables.reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);

const linesOf = (client: TestClient): string[] => client.frames.flatMap((frame) => frame.split('\n'));

describe.each(TARGET_KINDS)('rooms of both eras (%s)', (kind) => {
  const { pods } = podsPerTest(kind);
  const clients: TestClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  async function join(
    pod: RunningGateway,
    room: string,
    username: string,
    variables: Record<string, string> | null,
    dialect: 'seed' | 'legacy' = 'seed',
  ): Promise<TestClient> {
    const client = await TestClient.join(pod.url, room, username, variables ?? {}, variables === null ? 'scratch' : dialect);
    clients.push(client);
    return client;
  }

  /** A today's client that sets `values` (strings) in the room and leaves. */
  async function todaysClientLeaves(pod: RunningGateway, room: string, values: Record<string, string>): Promise<void> {
    const others = await pod.engine.store.memberCount(room);
    const client = await join(pod, room, 'player1', null);
    await membersAre(pod, room, others + 1);
    for (const [name, value] of Object.entries(values)) client.set(name, value);
    const stored = async (): Promise<boolean> => {
      const variables = new Map((await pod.engine.store.snapshot(room))?.variables);
      return Object.entries(values).every(([name, value]) => variables.get(name) === storeValue(value));
    };
    await until(stored, { what: "the today's client's sets" });
    client.close();
    await membersAre(pod, room, others);
  }

  it('stores a 2020 creation within MAX_ROOM_BYTES: initial values that do not fit are stored as "0" and the creator is told', async () => {
    const [a, b] = await pods({ MAX_ROOM_BYTES: '4096' });
    const room = freshRoom();
    const declared = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [cloud(`v${i}`), '9'.repeat(1_000)]));
    const creator = await join(a, room, 'creator', declared);
    // Ten names with "0" take 70 bytes; four 1,000-digit values fit in the 4,096, the others become "0".
    expect(await creator.waitFrames(1)).toEqual([[4, 5, 6, 7, 8, 9].map((i) => serverSet('seed', cloud(`v${i}`), '0')).join('\n')]);
    const stored = (await b.engine.store.snapshot(room))?.variables ?? [];
    expect(stored.filter(([, value]) => value !== '0').map(([name]) => name)).toEqual([0, 1, 2, 3].map((i) => cloud(`v${i}`)));
    expect(bytesOf(stored)).toBeLessThanOrEqual(4096);
    expect(creator.closed).toBeNull();
  });

  it('holds MAX_ROOM_BYTES when a 2020 handshake re-declares a full room\'s names with more: new values beyond it are "0", names beyond it are refused (4003)', async () => {
    const [a, b] = await pods({ MAX_ROOM_BYTES: '4096' });
    const room = freshRoom();
    await todaysClientLeaves(a, room, { [cloud('a')]: '9'.repeat(3_000) });
    const declared = { [cloud('a')]: '0', ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [cloud(`n${i}`), '8'.repeat(1_000)])) };
    const joiner = await join(b, room, 'joiner', declared);
    // 3,006 bytes held (the string's mark counts), 70 for the new names with "0": one 1,000-digit value still fits.
    const [frame] = await joiner.waitFrames(1);
    expect(frame?.split('\n')).toEqual([
      serverSet('seed', cloud('a'), '9'.repeat(3_000)),
      serverSet('seed', cloud('n0'), '8'.repeat(1_000)),
      ...Array.from({ length: 9 }, (_, i) => serverSet('seed', cloud(`n${i + 1}`), '0')),
    ]);
    expect(bytesOf((await a.engine.store.snapshot(room))?.variables ?? [])).toBeLessThanOrEqual(4096);
    const wide = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [cloud(`${i}`.repeat(300)), '1']));
    expect(await refusal(a.url, [handshakeOf('seed', room, 'wide', wide)])).toEqual({ code: 4003, frames: [] });
    expect(bytesOf((await a.engine.store.snapshot(room))?.variables ?? [])).toBeLessThanOrEqual(4096);
  });

  it("deletes nothing a today's client made when a 2020 client declaring other names joins the empty room: it sees its own, the room keeps the rest", async () => {
    const [a, b] = await pods();
    const room = freshRoom();
    await todaysClientLeaves(a, room, { [cloud('highscore')]: '987654', [cloud('level')]: '42' });
    const visitor = await join(b, room, 'visitor', { [cloud('x')]: '0' });
    expect(await visitor.waitFrames(1)).toEqual([serverSet('seed', cloud('x'), '0')]);
    const stored = (await call(a.httpUrl, 'GET', roomPath(room))).body as { variables: Record<string, unknown> };
    expect(stored.variables).toEqual({ [cloud('highscore')]: '987654', [cloud('level')]: '42', [cloud('x')]: 0 });
    const owner = await join(a, room, 'player1', null);
    const [snapshot] = await owner.waitFrames(1);
    expect(snapshot?.split('\n').sort()).toEqual(
      // The today's client's strings stay strings; the 2020 client's number text is a number.
      [
        [cloud('highscore'), '987654'],
        [cloud('level'), '42'],
        [cloud('x'), 0],
      ].map(([name, value]) => JSON.stringify({ method: 'set', name, value })),
    );
    expect(visitor.closed).toBeNull();
  });

  it("lets 2020 players in after a today's client or an operator created a variable, while a 2020 player is connected; none is shown what it did not declare", async () => {
    const [a, b] = await pods();
    const room = freshRoom();
    const alice = await join(a, room, 'alice', { [cloud('a')]: '1' }, 'legacy');
    await membersAre(a, room, 1);
    await todaysClientLeaves(b, room, { [cloud('junk')]: '1' });
    const bob = await join(b, room, 'bob', { [cloud('a')]: '0' });
    expect(await bob.waitFrames(1)).toEqual([serverSet('seed', cloud('a'), '1')]);
    expect((await admin(a.httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('other'), value: '2' })).status).toBe(200);
    // More names than the room has: they are added, and nobody else is disturbed.
    const carol = await join(a, room, 'carol', { [cloud('a')]: '0', [cloud('b')]: '5' });
    expect(await carol.waitFrames(1)).toEqual([[serverSet('seed', cloud('a'), '1'), serverSet('seed', cloud('b'), '5')].join('\n')]);
    await membersAre(a, room, 3);
    carol.set(cloud('b'), '6');
    carol.set(cloud('a'), '7');
    await until(() => alice.view.get(cloud('a')) === '7' && bob.view.get(cloud('a')) === '7', { what: "carol's set" });
    for (const client of [alice, bob]) expect(linesOf(client).filter((line) => /junk|other|☁ b/.test(line))).toEqual([]);
    expect([alice.closed, bob.closed, carol.closed]).toEqual([null, null, null]);
  });

  it('shows a 2020 migration to a live viewer of the room on another pod: the removed names go, the new ones come', async () => {
    const [a, b] = await pods();
    // A pod's first good bus probe re-reads its rooms: let that pass, so only the migration can move the page.
    await until(async () => (await fetch(`${b.httpUrl}/readyz`)).status === 200, { what: "the viewer's pod to be ready" });
    const room = freshRoom();
    const old = await join(a, room, 'old', { [cloud('kept')]: '1', [cloud('dropped')]: '2' });
    await membersAre(a, room, 1);
    old.set(cloud('kept'), '5');
    await until(async () => (await a.engine.store.snapshot(room))?.variables.some(([, value]) => value === '5') === true, { what: 'the set' });
    old.close();
    await membersAre(a, room, 0);
    const page = new WebSocket(`${b.url}api/v1/rooms/${encodeURIComponent(room)}/live`, ['cloudvars-live']);
    const shown = new Map<string, string>();
    page.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; name?: string; value?: unknown; variables?: Record<string, unknown> };
      if (message.type === 'snapshot') {
        shown.clear();
        for (const [name, value] of Object.entries(message.variables ?? {})) shown.set(name, String(value));
      } else if (message.type === 'set') shown.set(message.name as string, String(message.value));
      else if (message.type === 'delete') shown.delete(message.name as string);
    });
    await until(() => shown.size === 2, { what: 'the page to show the room' });
    const migrant = await join(a, room, 'migrant', { [cloud('kept')]: '7', [cloud('new')]: '8' });
    expect(await migrant.waitFrames(1)).toEqual([[serverSet('seed', cloud('kept'), '5'), serverSet('seed', cloud('new'), '8')].join('\n')]);
    await until(() => !shown.has(cloud('dropped')) && shown.get(cloud('new')) === '8', { what: 'the page to show the migration' });
    expect(Object.fromEntries(shown)).toEqual({ [cloud('kept')]: '5', [cloud('new')]: '8' });
    page.close();
  });
});

describe('a 2020 client in a room others wrote to, across a resync', () => {
  let gw: RunningGateway | null = null;
  afterEach(async () => {
    await gw?.stop();
  });

  it('is not closed for changes to variables it did not declare, and is shown only its own after the resync', async () => {
    let faults: BusFaults | undefined;
    gw = await startGateway({ ALLOW_DELETE: 'true' }, (config) => {
      const lossy = lossyEngine(engineLimits(config));
      faults = lossy.faults;
      return lossy.engine;
    });
    const room = freshRoom();
    const today = await TestClient.join(gw.url, room, 'player1', {}, 'scratch');
    today.set(cloud('theirs'), '1');
    today.set(cloud('shared'), '1');
    await until(async () => (await gw?.engine.store.snapshot(room))?.variables.length === 2, { what: "the today's client's variables" });
    const legacy = await TestClient.join(gw.url, room, 'legacy', { [cloud('shared')]: '0' }, 'legacy');
    await legacy.waitFrames(1);
    // Lost on the bus: a change of each, so the pod finds a gap and re-reads the room.
    (faults as BusFaults).drop = (event) => event.type === 'set' && event.value === '2';
    today.set(cloud('theirs'), '2');
    today.set(cloud('shared'), '2');
    (faults as BusFaults).drop = () => false;
    today.send(JSON.stringify({ method: 'delete', name: cloud('theirs') }) + '\n');
    await until(() => legacy.view.get(cloud('shared')) === '2', { what: 'the resync to show the shared value' });
    expect(linesOf(legacy).filter((line) => line.includes('theirs'))).toEqual([]);
    expect(legacy.closed).toBeNull();
    today.close();
    legacy.close();
  });
});
