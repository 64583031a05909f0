import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
