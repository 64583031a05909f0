/**
 * DESIGN.md invariants 4 (self-healing) and 8 (one subscription per room per pod) at the
 * gateway, on a real engine whose bus loses events on demand.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RoomEngineError } from '@cloudvars/rooms';
import { engineLimits } from '../src/engine.ts';
import { TestClient, until } from './support/client.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';
import { lossyEngine, type BusFaults } from './support/lossy-engine.ts';

const VARS = { '☁ a': '0', '☁ b': '0', '☁ c': '0' };
const line = (variable: string, value: string) => `{"kind":"set","variable":"${variable}","value":"${value}"}`;
/** Every message a client received after its join snapshot. */
const after = (client: TestClient) => client.frames.slice(1).flatMap((frame) => frame.split('\n'));

describe('gateway invariants on a lossy bus', () => {
  let gateway: RunningGateway | undefined;
  let faults: BusFaults;
  afterEach(async () => {
    await gateway?.stop();
  });

  async function twoClients(env: Record<string, string> = {}) {
    gateway = await startGateway(env, (config) => {
      const lossy = lossyEngine(engineLimits(config));
      faults = lossy.faults;
      return lossy.engine;
    });
    const writer = await TestClient.join(gateway.url, 'heal', 'writer', VARS);
    await membersAre(gateway, 'heal', 1);
    const reader = await TestClient.join(gateway.url, 'heal', 'reader', VARS);
    await reader.waitFrames(1);
    return { writer, reader, gateway };
  }

  it('invariant 4: a seq gap makes the pod re-read the room and send each client only what changed', async () => {
    const { writer, reader } = await twoClients();
    faults.drop = (event) => event.variable === '☁ a';
    writer.set('☁ a', '5'); // lost on the bus: the pod's next event shows a gap
    await until(async () => (await gateway!.engine.store.snapshot('heal'))?.seq === 1);
    faults.drop = () => false;
    writer.set('☁ b', '7');
    await until(() => reader.view.get('☁ a') === '5' && reader.view.get('☁ b') === '7', { what: 'the resync to reach the reader' });
    expect(after(reader).sort()).toEqual([line('☁ a', '5'), line('☁ b', '7')]);
    expect((await gateway!.metrics.resyncs.get()).values[0]?.value).toBeGreaterThan(0);
  });

  it('invariant 4: a bus reconnect makes the pod re-read its rooms; clients get what they missed and nothing else', async () => {
    const { writer, reader } = await twoClients();
    faults.drop = () => true;
    writer.set('☁ c', '3'); // lost while "disconnected"
    await until(async () => (await gateway!.engine.store.snapshot('heal'))?.seq === 1);
    faults.drop = () => false;
    faults.reconnect();
    await until(() => reader.view.get('☁ c') === '3', { what: 'the missed value' });
    expect(after(reader)).toEqual([line('☁ c', '3')]);
  });

  it('invariant 4: an event from another epoch makes the pod re-read the room; an unchanged room sends nothing', async () => {
    const { writer, reader } = await twoClients();
    faults.inject({ type: 'set', room: 'heal', epoch: 'not-the-rooms-epoch', seq: 1, origin: 'elsewhere', variable: '☁ a', value: '66' });
    await until(async () => (await gateway!.metrics.resyncs.get()).values[0]?.value === 1, { what: 'a resync' });
    writer.set('☁ b', '1');
    await until(() => reader.view.get('☁ b') === '1');
    // The foreign value never reached the reader, and the resync added nothing before the real set.
    expect(after(reader)).toEqual([line('☁ b', '1')]);
  });

  it('invariant 4: a bus reconnect while a room is being created does not evict its creator', async () => {
    const started = await twoClients();
    // The next room: the reconnect lands between its subscribe and the join that creates it,
    // so the resync finds no room in the store.
    faults.afterSubscribe = (rooms) => {
      if (rooms.includes('fresh')) faults.reconnect();
    };
    const creator = await TestClient.join(started.gateway.url, 'fresh', 'creator', VARS);
    await membersAre(started.gateway, 'fresh', 1);
    const second = await TestClient.join(started.gateway.url, 'fresh', 'second', VARS);
    await second.waitFrames(1);
    creator.set('☁ a', '4');
    await until(() => second.view.get('☁ a') === '4', { what: 'a set between the two' });
    expect(creator.closed).toBeNull();
    expect(second.closed).toBeNull();
  });

  it('invariant 8: one subscription per room per pod, shared by its clients and dropped after the linger', async () => {
    const { writer, reader } = await twoClients({ ROOM_LINGER_MS: '50' });
    expect(faults.subscribes.get('heal')).toBe(1);
    writer.close();
    reader.close();
    await until(() => faults.unsubscribes.get('heal') === 1, { what: 'the unsubscribe after the linger' });
    const back = await TestClient.join(gateway!.url, 'heal', 'back', VARS);
    await back.waitFrames(1);
    expect(faults.subscribes.get('heal')).toBe(2);
  });

  it('frees the username at once after a join the store applied but answered too late (a timed-out join leaves no ghost)', async () => {
    const { writer } = await twoClients();
    faults.afterJoin = async (request, result) => {
      if (request.username !== 'late') return result;
      throw new RoomEngineError('CV_ERR_REDIS_TIMEOUT', 'redis did not answer join within 10000 ms');
    };
    const late = await TestClient.join(gateway!.url, 'heal', 'late', VARS);
    expect((await late.waitClose()).code).toBe(1011);
    // Its lease was given back: the same name joins now, not after LEASE_TTL_MS.
    faults.afterJoin = async (_request, result) => result;
    await membersAre(gateway!, 'heal', 2);
    const again = await TestClient.join(gateway!.url, 'heal', 'LATE', VARS);
    await membersAre(gateway!, 'heal', 3);
    expect(again.closed).toBeNull();
    expect(writer.closed).toBeNull();
  });

  it('gives back the room when taking a room creation fails (the counter timed out): nothing stays subscribed or counted', async () => {
    const { writer } = await twoClients({ ROOM_LINGER_MS: '50' });
    faults.beforeHit = async (key) => {
      if (key.startsWith('new-rooms:')) throw new RoomEngineError('CV_ERR_REDIS_TIMEOUT', 'redis did not answer hit within 10000 ms');
    };
    const creator = await TestClient.join(gateway!.url, 'unborn', 'creator', VARS);
    expect((await creator.waitClose()).code).toBe(1011);
    await until(() => faults.unsubscribes.get('unborn') === 1, { what: 'the room dropped after the linger' });
    expect((await gateway!.metrics.rooms.get()).values[0]?.value).toBe(1); // 'heal' only
    faults.beforeHit = async () => undefined;
    const again = await TestClient.join(gateway!.url, 'unborn', 'creator', VARS);
    await membersAre(gateway!, 'unborn', 1);
    expect([again.closed, writer.closed]).toEqual([null, null]);
  });

  it('shows a joiner a value it would have missed: a resync that read the room during its join, after its snapshot was taken', async () => {
    const { writer } = await twoClients();
    let releaseJoin: () => void = () => undefined;
    const joinHeld = new Promise<void>((resolve) => {
      releaseJoin = resolve;
    });
    let joinApplied: () => void = () => undefined;
    const applied = new Promise<void>((resolve) => {
      joinApplied = resolve;
    });
    faults.afterJoin = async (request, result) => {
      if (request.username !== 'joiner') return result;
      joinApplied();
      await joinHeld;
      return result;
    };
    const joiner = await TestClient.join(gateway!.url, 'heal', 'joiner', VARS);
    await applied; // the joiner's snapshot is taken (☁ c = 0); its answer is held
    faults.drop = (event) => event.variable === '☁ c';
    writer.set('☁ c', '7'); // never reaches the pod as an event
    await until(async () => (await gateway!.engine.store.snapshot('heal'))?.seq === 1, { what: 'the set stored' });
    faults.reconnect(); // the pod re-reads the room while the joiner is still joining
    await until(async () => (await gateway!.metrics.resyncs.get()).values[0]?.value === 1, { what: 'a resync' });
    releaseJoin();
    await until(() => joiner.view.get('☁ c') === '7', { what: 'the joiner to get ☁ c = 7' });
  });
});
