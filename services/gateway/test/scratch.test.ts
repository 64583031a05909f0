/**
 * The Scratch 3 dialect (today's clients: Scratch's editor, TurboWarp, its Packager, bots)
 * on one node and on two pods sharing Redis: the join snapshot, variables created by their
 * first set within the room's limits, frames of several messages, shared usernames, the
 * session-cookie refusal, rename and delete (off and on), the rate (sets wait, floods are
 * paced), and rooms shared with 2020 clients.
 */
import { encodeScratchDelete, encodeScratchRename, storedText, storeValue } from '@cloudvars/protocol';
import { testSeed } from '@cloudvars/test-support/seeded-random';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TestClient, until, upgradeStatus } from './support/client.ts';
import { cloud, metricValue, serverSet } from './support/conformance.ts';
import { replayHint, runConvergence } from './support/convergence.ts';
import { membersAre } from './support/gateway.ts';
import { startTarget, TARGET_KINDS, type Target } from './support/targets.ts';

let roomCounter = 0;
const freshRoom = (): string => `scratch-${++roomCounter}-${Math.random().toString(36).slice(2, 8)}`;

/** A Scratch 3 set as the server sends it. */
const scratchSet = (name: string, value: string | number): string => JSON.stringify({ method: 'set', name, value });
/** A Scratch 3 client's message, with the fields Scratch's editor adds to every one. */
const message = (fields: Record<string, unknown>): string => JSON.stringify({ ...fields, user: 'player1234', project_id: '1' });

/** Each line of every frame a client received, in order. */
const linesOf = (client: TestClient): string[] => client.frames.flatMap((frame) => frame.split('\n'));

describe.each(TARGET_KINDS)('Scratch 3 clients (%s)', (kind) => {
  const targets: Target[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(targets.splice(0).map((target) => target.stop()));
  });

  async function start(env: Record<string, string> = {}): Promise<Target> {
    const target = await startTarget(kind, env);
    targets.push(target);
    return target;
  }

  async function scratch(target: Target, room: string, user = 'player1234'): Promise<TestClient> {
    const client = await TestClient.join(target.url(), room, user, {}, 'scratch');
    clients.push(client);
    return client;
  }

  async function changesIgnored(target: Target, reason: string): Promise<number> {
    let total = 0;
    for (const gateway of [target.gw, target.other]) {
      if (gateway === null) continue;
      const metric = await gateway.metrics.changesIgnored.get();
      total += metric.values.find((value) => value.labels.reason === reason)?.value ?? 0;
    }
    return total;
  }

  /** Sets the target's pods stored, plus those superseded while they waited for the rate. */
  async function setsDealtWith(target: Target): Promise<number> {
    let stored = 0;
    for (const gateway of [target.gw, target.other]) {
      if (gateway !== null) stored += (await gateway.metrics.sets.get()).values[0]?.value ?? 0;
    }
    return stored + (await changesIgnored(target, 'superseded-while-waiting'));
  }

  it("sends a joiner the room's values as set lines in one frame, and a new room's creator nothing", async () => {
    const target = await start();
    const room = freshRoom();
    const first = await scratch(target, room, 'player1');
    await membersAre(target.gw, room, 1);
    first.set(cloud('a'), '1');
    first.set(cloud('b'), '2');
    await until(async () => (await target.gw.engine.store.snapshot(room))?.seq === 2, { what: 'both sets stored' });
    const joiner = await scratch(target, room, 'player2');
    const [snapshot] = await joiner.waitFrames(1);
    expect(snapshot?.split('\n').sort()).toEqual([scratchSet(cloud('a'), '1'), scratchSet(cloud('b'), '2')]);
    expect(first.frames).toEqual([]);
  });

  it('creates a variable with its first set or create, and relays a number as a number and a string as a string', async () => {
    const target = await start();
    const room = freshRoom();
    const writer = await scratch(target, room, 'writer');
    const reader = await scratch(target, room, 'reader');
    await membersAre(target.gw, room, 2);
    writer.send(message({ method: 'set', name: cloud('n'), value: 12 }));
    writer.send(message({ method: 'create', name: cloud('c'), value: '-0.5' }));
    await until(() => reader.view.get(cloud('c')) === '-0.5', { what: 'the created variable' });
    expect(linesOf(reader)).toEqual([scratchSet(cloud('n'), 12), scratchSet(cloud('c'), '-0.5')]);
  });

  it("applies every message of a frame in order, sets in the handshake's frame included", async () => {
    const target = await start();
    const room = freshRoom();
    const reader = await scratch(target, room, 'reader');
    await membersAre(target.gw, room, 1);
    const writer = await TestClient.connect(target.url(), { dialect: 'scratch' });
    clients.push(writer);
    const handshake = JSON.stringify({ method: 'handshake', project_id: room, user: 'writer' });
    writer.send(`${handshake}\n${message({ method: 'set', name: cloud('a'), value: '1' })}\n`);
    await until(() => reader.view.get(cloud('a')) === '1', { what: "the set in the handshake's frame" });
    // scratchattach's batch: several sets in one frame, the last of a variable wins.
    writer.send([cloud('a'), cloud('b'), cloud('a')].map((name, i) => message({ method: 'set', name, value: String(i + 2) })).join('\n'));
    await until(() => reader.view.get(cloud('a')) === '4' && reader.view.get(cloud('b')) === '3', { what: 'the batch' });
    const stored = await target.gw.engine.store.snapshot(room);
    expect(Object.fromEntries(stored?.variables ?? [])).toEqual({ [cloud('a')]: storeValue('4'), [cloud('b')]: storeValue('3') });
    expect(writer.closed).toBeNull();
  });

  it('ignores and counts a set creating one variable more than MAX_VARIABLES, or one that would overflow MAX_ROOM_BYTES', async () => {
    const target = await start({ MAX_VARIABLES: '2', MAX_ROOM_BYTES: '1024' });
    const room = freshRoom();
    const writer = await scratch(target, room, 'writer');
    const reader = await scratch(target, room, 'reader');
    await membersAre(target.gw, room, 2);
    writer.set(cloud('a'), '1');
    writer.set(cloud('b'), '2');
    writer.set(cloud('c'), '3'); // a third variable
    writer.set(cloud('a'), '9'.repeat(1_100)); // more bytes than the room may hold
    writer.set(cloud('b'), '5');
    await until(() => reader.view.get(cloud('b')) === '5', { what: 'the last set' });
    await until(async () => (await changesIgnored(target, 'over-budget')) === 1, { what: 'the over-budget set counted' });
    expect(await changesIgnored(target, 'too-many-variables')).toBe(1);
    // (Updates to one reader are coalesced per variable, so b=2 may have given way to b=5.)
    expect(linesOf(reader).filter((line) => line.includes(cloud('c')) || line.length > 1_000)).toEqual([]);
    expect(reader.view.get(cloud('a'))).toBe('1');
    expect(writer.closed).toBeNull();
    const stored = await target.gw.engine.store.snapshot(room);
    expect(Object.fromEntries(stored?.variables ?? [])).toEqual({ [cloud('a')]: storeValue('1'), [cloud('b')]: storeValue('5') });
  });

  it('lets two clients share a username in a room; with ALLOW_DUPLICATE_USERNAMES=false the second gets 4002', async () => {
    const shared = await start();
    const room = freshRoom();
    const one = await scratch(shared, room, 'player1234');
    const two = await scratch(shared, room, 'PLAYER1234');
    await membersAre(shared.gw, room, 2);
    one.set(cloud('a'), '1');
    await until(() => two.view.get(cloud('a')) === '1', { what: 'the twin to see the set' });

    const unique = await start({ ALLOW_DUPLICATE_USERNAMES: 'false' });
    await scratch(unique, room, 'player1234');
    await membersAre(unique.gw, room, 1);
    const taken = await scratch(unique, room, 'PLAYER1234');
    expect((await taken.waitClose()).code).toBe(4002);
  });

  it("refuses an upgrade that carries a Scratch session cookie with 4005, the warning in the close frame's reason and no text frame", async () => {
    const target = await start();
    for (const cookie of ['scratchsessionsid="abc"; scratchcsrftoken=x', 'scratchcsrftoken=x; scratchsessionsid="abc"']) {
      const refused = await new Promise<{ frames: string[]; code: number; reason: string }>((resolve) => {
        const frames: string[] = [];
        const socket = new WebSocket(target.url(), { headers: { cookie } });
        socket.on('message', (data) => frames.push(String(data)));
        socket.on('close', (code, reason) => resolve({ frames, code, reason: String(reason) }));
      });
      expect(refused.code).toBe(4005);
      expect(refused.frames).toEqual([]);
      expect(refused.reason).toMatch(/Scratch password/);
      expect(refused.reason).not.toContain('abc');
    }
  });

  it('ignores and counts rename and delete by default (as TurboWarp does): the room keeps its variables', async () => {
    const target = await start();
    const room = freshRoom();
    const writer = await scratch(target, room, 'writer');
    await membersAre(target.gw, room, 1);
    writer.set(cloud('a'), '1');
    writer.send(encodeScratchRename(cloud('a'), cloud('z')));
    writer.send(encodeScratchDelete(cloud('a')));
    await until(async () => (await changesIgnored(target, 'delete-disabled')) === 1, { what: 'the delete counted' });
    expect(await changesIgnored(target, 'rename-disabled')).toBe(1);
    const stored = await target.gw.engine.store.snapshot(room);
    expect(Object.fromEntries(stored?.variables ?? [])).toEqual({ [cloud('a')]: storeValue('1') });
    expect(writer.closed).toBeNull();
  });

  it('applies rename and delete with ALLOW_RENAME and ALLOW_DELETE, on every pod: later joiners and sets follow them', async () => {
    const target = await start({ ALLOW_RENAME: 'true', ALLOW_DELETE: 'true' });
    const room = freshRoom();
    const writer = await scratch(target, room, 'writer');
    const other = await scratch(target, room, 'other');
    await membersAre(target.gw, room, 2);
    writer.set(cloud('a'), '1');
    writer.set(cloud('b'), '2');
    await until(() => other.view.get(cloud('b')) === '2', { what: 'both values' });
    writer.send(encodeScratchRename(cloud('a'), cloud('renamed')));
    writer.send(encodeScratchDelete(cloud('b')));
    await until(async () => (await target.gw.engine.store.snapshot(room))?.seq === 4, { what: 'the rename and the delete stored' });
    // The other pod's mirror followed: a set of the new name from there reaches the writer.
    other.set(cloud('renamed'), '3');
    await until(() => writer.view.get(cloud('renamed')) === '3', { what: 'a set of the renamed variable' });
    const joiner = await scratch(target, room, 'joiner');
    const [snapshot] = await joiner.waitFrames(1);
    expect(snapshot).toBe(scratchSet(cloud('renamed'), '3'));
  });

  it('lets sets beyond the rate wait instead of closing: the newest value of each variable arrives, superseded ones are counted', async () => {
    const target = await start({ RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '2' });
    const room = freshRoom();
    const writer = await scratch(target, room, 'writer');
    const reader = await scratch(target, room, 'reader');
    await membersAre(target.gw, room, 2);
    for (let n = 1; n <= 20; n++) writer.set(cloud('a'), String(n));
    writer.set(cloud('b'), '4');
    await until(() => reader.view.get(cloud('a')) === '20' && reader.view.get(cloud('b')) === '4', { what: 'the newest values', timeoutMs: 10_000 });
    expect(writer.closed).toBeNull();
    expect(await changesIgnored(target, 'superseded-while-waiting')).toBeGreaterThan(0);
    const stored = await target.gw.engine.store.snapshot(room);
    expect(Object.fromEntries(stored?.variables ?? [])).toEqual({ [cloud('a')]: storeValue('20'), [cloud('b')]: storeValue('4') });
    // The writer is never shown an older value of what it wrote.
    expect(linesOf(writer)).toEqual([]);
  });

  it('converges concurrent Scratch 3 writers whose sets wait for the rate', async () => {
    const target = await start({ RATE_LIMIT_PER_SECOND: '8', RATE_LIMIT_BURST: '4', MAX_CLIENTS_PER_ROOM: '20' });
    const seed = testSeed();
    const outcome = await runConvergence({
      urls: [target.url(), target.url()],
      room: freshRoom(),
      store: target.gw.engine.store,
      seed,
      dialects: ['scratch'],
      settled: () => setsDealtWith(target),
    });
    expect(await changesIgnored(target, 'superseded-while-waiting'), 'some sets waited and were superseded').toBeGreaterThan(0);
    expect(Object.fromEntries(outcome.diverged), replayHint(outcome)).toEqual({});
  }, 60_000);

  async function floodPauses(target: Target): Promise<number> {
    let total = 0;
    for (const gateway of [target.gw, target.other]) {
      if (gateway !== null) total += (await gateway.metrics.floodPauses.get()).values[0]?.value ?? 0;
    }
    return total;
  }

  it('paces a flood beyond FLOOD_BURST instead of closing it: every variable ends on its last value for every member, and its address still gets in', async () => {
    const target = await start({ FLOOD_LIMIT_PER_SECOND: '50', FLOOD_BURST: '20' });
    const room = freshRoom();
    const flooder = await scratch(target, room, 'flooder');
    const reader = await scratch(target, room, 'reader');
    await membersAre(target.gw, room, 2);
    for (let n = 1; n <= 200; n++) flooder.set(cloud(`v${n % 3}`), String(n));
    const last = { [cloud('v0')]: '198', [cloud('v1')]: '199', [cloud('v2')]: '200' };
    const onLast = (view: ReadonlyMap<string, string>): boolean => Object.entries(last).every(([name, value]) => view.get(name) === value);
    await until(() => onLast(reader.view) || flooder.closed !== null, { what: 'the last value of each variable', timeoutMs: 30_000 });
    expect(flooder.closed).toBeNull();
    expect(await floodPauses(target)).toBeGreaterThan(0);
    const stored = await target.gw.engine.store.snapshot(room);
    // Its sets were strings ("198"): stored as strings, whose text is the expected one.
    expect(Object.fromEntries((stored?.variables ?? []).map(([name, value]) => [name, storedText(value)]))).toEqual(last);
    // Nothing falls on the address: the next upgrade from it is let in.
    expect((await upgradeStatus(target.gw.url)).status).toBe(101);
  }, 40_000);

  it('keeps a paced client whose pongs wait unread behind its own frames (PING_INTERVAL_MS far below the pacing)', async () => {
    const target = await start({ FLOOD_LIMIT_PER_SECOND: '10', FLOOD_BURST: '1', PING_INTERVAL_MS: '200' });
    const room = freshRoom();
    const flooder = await scratch(target, room, 'flooder');
    const reader = await scratch(target, room, 'reader');
    await membersAre(target.gw, room, 2);
    // About 3 s of pacing, fifteen ping rounds: its pongs are read only after these frames.
    for (let n = 1; n <= 30; n++) flooder.set(cloud('a'), String(n));
    // One frame more, read once the debt is paid: the pongs before it wait as long.
    flooder.set(cloud('a'), '31');
    await until(() => reader.view.get(cloud('a')) === '31' || flooder.closed !== null, { what: 'the frame after the pacing', timeoutMs: 20_000 });
    expect(flooder.closed).toBeNull();
    expect(reader.closed).toBeNull();
  }, 30_000);

  it("shares a room with 2020 clients: each sees the others' sets in its own dialect, and a 2020 client only what it declared", async () => {
    const target = await start();
    const room = freshRoom();
    const seed = await TestClient.join(target.url(), room, 'seeder', { [cloud('a')]: '0', [cloud('b')]: '0' }, 'seed');
    clients.push(seed);
    await membersAre(target.gw, room, 1);
    const today = await scratch(target, room, 'player1');
    const legacy = await TestClient.join(target.url(), room, 'legacy', { [cloud('a')]: '0', [cloud('b')]: '0' }, 'legacy');
    clients.push(legacy);
    await membersAre(target.gw, room, 3);
    // The 2020 clients' values are number text: a number for a Scratch 3 client.
    expect(await today.waitFrames(1)).toEqual([[scratchSet(cloud('a'), 0), scratchSet(cloud('b'), 0)].join('\n')]);

    today.set(cloud('a'), '1');
    await until(() => seed.view.get(cloud('a')) === '1' && legacy.view.get(cloud('a')) === '1', { what: "the Scratch 3 client's set" });
    seed.set(cloud('b'), '2');
    await until(() => today.view.get(cloud('b')) === '2', { what: "the 2020 client's set" });
    // A variable only the Scratch 3 client has: created, stored, never sent to 2020 clients.
    today.set(cloud('extra'), '3');
    today.set(cloud('a'), '4');
    await until(() => seed.view.get(cloud('a')) === '4' && legacy.view.get(cloud('a')) === '4', { what: 'the set after the extra one' });
    expect(linesOf(seed).some((line) => line.includes('extra'))).toBe(false);
    expect(seed.frames.at(-1)).toBe(serverSet('seed', cloud('a'), '4'));
    expect([seed.closed, legacy.closed, today.closed]).toEqual([null, null, null]);
    const metrics = await (await fetch(target.gw.metricsUrl)).text();
    expect(metricValue(metrics, 'cloudvars_joins_total{outcome="joined"}')).toBeGreaterThanOrEqual(1);
  });
});
