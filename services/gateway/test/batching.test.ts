import { createMemoryEngine, type RoomEngine, type RoomStore } from '@cloudvars/rooms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engineLimits } from '../src/engine.ts';
import { TestClient, until } from './support/client.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

const VARIABLES = { '☁ a': '0', '☁ b': '0', '☁ c': '0' };

describe('batching', () => {
  let gateway: RunningGateway;
  beforeEach(async () => {
    gateway = await startGateway();
  });
  afterEach(async () => {
    await gateway.stop();
  });

  it('sends a joining client the whole room in one frame', async () => {
    const creator = await TestClient.join(gateway.url, 'snap', 'creator', VARIABLES);
    await membersAre(gateway, 'snap', 1);
    creator.set('☁ b', '7');
    await until(async () => (await gateway.engine.store.snapshot('snap'))?.seq === 1);
    const joiner = await TestClient.join(gateway.url, 'snap', 'joiner', VARIABLES);
    const [frame] = await joiner.waitFrames(1);
    expect(frame?.split('\n')).toEqual([
      '{"kind":"set","variable":"☁ a","value":"0"}',
      '{"kind":"set","variable":"☁ b","value":"7"}',
      '{"kind":"set","variable":"☁ c","value":"0"}',
    ]);
  });

  it('joins the updates of one event-loop turn into one frame, keeping only the newest value per variable', async () => {
    const reader = await TestClient.join(gateway.url, 'turn', 'reader', VARIABLES);
    await membersAre(gateway, 'turn', 1);
    // Three sets applied by the store in one turn (as if three pods' writers raced).
    await Promise.all([
      gateway.engine.store.set('turn', 'elsewhere', '☁ a', '1'),
      gateway.engine.store.set('turn', 'elsewhere', '☁ b', '2'),
      gateway.engine.store.set('turn', 'elsewhere', '☁ a', '3'),
    ]);
    await until(() => reader.frames.length >= 1);
    // One more set in a later turn proves nothing else was pending.
    await gateway.engine.store.set('turn', 'elsewhere', '☁ c', '4');
    await until(() => reader.frames.length >= 2);
    expect(reader.frames).toEqual([
      '{"kind":"set","variable":"☁ b","value":"2"}\n{"kind":"set","variable":"☁ a","value":"3"}',
      '{"kind":"set","variable":"☁ c","value":"4"}',
    ]);
  });
});

describe("a client's sets to the store", () => {
  it('sends the sets of one frame as one setMany, applied in order', async () => {
    const calls: string[] = [];
    const made: RoomEngine[] = [];
    const gateway = await startGateway({}, (config) => {
      const inner = createMemoryEngine({ limits: engineLimits(config) });
      // The store as the gateway's clients reach it, counting its set calls.
      const store: RoomStore = {
        ...bound(inner.store),
        set: (...args) => (calls.push('set'), inner.store.set(...args)),
        setMany: (room, origin, changes, options) => (calls.push(`setMany ${changes.length}`), inner.store.setMany(room, origin, changes, options)),
      };
      const engine: RoomEngine = { ...inner, store, isConnected: () => inner.isConnected(), close: () => inner.close() };
      made.push(engine);
      return engine;
    });
    try {
      const reader = await TestClient.join(gateway.url, 'frame', 'reader', {}, 'scratch');
      const writer = await TestClient.join(gateway.url, 'frame', 'writer', {}, 'scratch');
      await membersAre(gateway, 'frame', 2);
      const set = (name: string, value: string): string => JSON.stringify({ method: 'set', name, value });
      writer.send([set('☁ a', '1'), set('☁ b', '2'), set('☁ a', '3')].join('\n'));
      await until(() => reader.view.get('☁ a') === '3' && reader.view.get('☁ b') === '2', { what: "the frame's sets" });
      expect(calls).toEqual(['setMany 3']);
      const log = await gateway.engine.store.log('frame', 10);
      expect(log?.map(({ name }) => name)).toEqual(['☁ a', '☁ b', '☁ a']); // newest first
      writer.close();
      reader.close();
    } finally {
      await gateway.stop();
      for (const engine of made) await engine.close();
    }
  });
});

/** Every method of a store, bound to it (a class's methods lose their `this` when spread). */
function bound(store: RoomStore): RoomStore {
  return {
    join: (request) => store.join(request),
    set: (...args) => store.set(...args),
    setMany: (...args) => store.setMany(...args),
    rename: (...args) => store.rename(...args),
    delete: (...args) => store.delete(...args),
    log: (...args) => store.log(...args),
    deleteRoom: (...args) => store.deleteRoom(...args),
    kick: (...args) => store.kick(...args),
    leave: (...args) => store.leave(...args),
    renew: (...args) => store.renew(...args),
    snapshot: (...args) => store.snapshot(...args),
    catchUp: (...args) => store.catchUp(...args),
    memberCount: (...args) => store.memberCount(...args),
  };
}
