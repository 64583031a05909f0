import { createRedisEngine } from '@cloudvars/rooms';
import { testPrefix } from '@cloudvars/test-support/redis-engines';
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { Redis } from 'ioredis';
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
  // The batching is the Redis engine's own (its store sends a connection's sets of one turn as
  // one setMany: one script call, one publish); in memory a batch would cost what its sets do.
  it('sends the sets of one frame as one setMany, applied in order', async () => {
    const prefix = testPrefix();
    const gateway = await startGateway({}, (config) => createRedisEngine({ url: redisUrl(), keyPrefix: prefix, limits: engineLimits(config) }));
    // What the store publishes for the room: one message per set call, or one list per setMany.
    const listener = new Redis(redisUrl());
    const messages: unknown[] = [];
    listener.on('message', (_channel: string, message: string) => messages.push(JSON.parse(message)));
    try {
      await listener.subscribe(`${prefix}{frame}`);
      const reader = await TestClient.join(gateway.url, 'frame', 'reader', {}, 'scratch');
      const writer = await TestClient.join(gateway.url, 'frame', 'writer', {}, 'scratch');
      await membersAre(gateway, 'frame', 2);
      const set = (name: string, value: string): string => JSON.stringify({ method: 'set', name, value });
      writer.send([set('☁ a', '1'), set('☁ b', '2'), set('☁ a', '3')].join('\n'));
      await until(() => reader.view.get('☁ a') === '3' && reader.view.get('☁ b') === '2', { what: "the frame's sets" });
      // One setMany: one message, the list of its three sets' payloads [epoch, seq, origin, variable, stored value].
      expect(messages).toHaveLength(1);
      const payload = (seq: number, variable: string): unknown[] => [expect.any(String), seq, expect.any(String), variable, expect.any(String)];
      expect(messages).toEqual([[payload(1, '☁ a'), payload(2, '☁ b'), payload(3, '☁ a')]]);
      const log = await gateway.engine.store.log('frame', 10);
      expect(log?.map(({ name }) => name)).toEqual(['☁ a', '☁ b', '☁ a']); // newest first
      writer.close();
      reader.close();
    } finally {
      await listener.quit();
      await gateway.stop();
      await gateway.engine.close();
    }
  });
});
