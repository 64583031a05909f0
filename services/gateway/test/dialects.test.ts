import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestClient, until } from './support/client.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

describe('dialects', () => {
  let gateway: RunningGateway;
  beforeEach(async () => {
    gateway = await startGateway();
  });
  afterEach(async () => {
    await gateway.stop();
  });

  it("lets a seed client and a 2020 (legacy) client in one room see each other's sets, each in its own field names", async () => {
    const seed = await TestClient.join(gateway.url, 'mixed', 'seedy', { '☁ a': '1', '☁ b': '2' }, 'seed');
    await membersAre(gateway, 'mixed', 1);
    const legacy = await TestClient.join(gateway.url, 'mixed', 'legacy', { '☁ a': '1', '☁ b': '2' }, 'legacy');
    const [snapshot] = await legacy.waitFrames(1);
    expect(snapshot).toBe('{"kind":"set","var":"☁ a","value":"1"}\n{"kind":"set","var":"☁ b","value":"2"}');

    seed.set('☁ a', '10');
    await until(() => legacy.frames.length === 2);
    expect(legacy.frames[1]).toBe('{"kind":"set","var":"☁ a","value":"10"}');

    legacy.set('☁ b', '20');
    await until(() => seed.frames.length === 1);
    expect(seed.frames[0]).toBe('{"kind":"set","variable":"☁ b","value":"20"}');
    expect(seed.closed).toBeNull();
    expect(legacy.closed).toBeNull();
  });

  it('accepts a numeric project id from a 2020 client as its room', async () => {
    const first = await TestClient.join(gateway.url, '104', 'first', { '☁ a': '5' }, 'legacy');
    await membersAre(gateway, '104', 1);
    const second = await TestClient.connect(gateway.url, { dialect: 'legacy' });
    second.sendJson({ kind: 'handshake', id: 104, username: 'second', variables: { '☁ a': '0' } });
    const [snapshot] = await second.waitFrames(1);
    expect(snapshot).toBe('{"kind":"set","var":"☁ a","value":"5"}');
    first.close();
  });
});
