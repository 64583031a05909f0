/**
 * Attacks the protocol tables do not name: sockets that never handshake, floods of large
 * frames, and close codes chosen to blow up metric cardinality.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, until, upgradeStatus } from './support/client.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

describe('abuse', () => {
  let gateway: RunningGateway | undefined;
  afterEach(async () => {
    await gateway?.stop();
  });

  it('refuses the upgrade (HTTP 429, no socket) of an address that holds MAX_CONNECTIONS_PER_ADDRESS sockets, handshake or not', async () => {
    gateway = await startGateway({ MAX_CONNECTIONS_PER_ADDRESS: '3' });
    const idle = await Promise.all([1, 2, 3].map(() => TestClient.connect(gateway!.url)));
    expect(await upgradeStatus(gateway.url)).toEqual({ status: 429, retryAfter: '1' });
    expect(gateway.app.websocketServer.clients.size).toBe(3);
    expect(idle.every((client) => client.closed === null)).toBe(true);
    idle[0]!.close();
    await until(() => gateway!.metrics.connections.get().then((metric) => metric.values[0]?.value === 2));
    const again = await TestClient.join(gateway.url, 'after', 'again', { '☁ a': '0' });
    await membersAre(gateway, 'after', 1);
    expect(again.closed).toBeNull();
  });

  it('holds no socket for refused upgrades of clients that never read or answer (MAX_CONNECTIONS_PER_ADDRESS=2)', async () => {
    gateway = await startGateway({ MAX_CONNECTIONS_PER_ADDRESS: '2' });
    const running = gateway;
    const { port } = new URL(running.httpUrl);
    const request =
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const raw: Socket[] = [];
    const answers: string[] = [];
    for (let i = 0; i < 50; i++) {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      socket.once('data', (data: Buffer) => answers.push(data.toString('latin1').split('\r\n')[0] ?? ''));
      socket.write(request);
      raw.push(socket);
    }
    try {
      await until(() => answers.length === 50, { what: 'every upgrade answered' });
      expect(answers.filter((line) => line.startsWith('HTTP/1.1 101'))).toHaveLength(2);
      expect(answers.filter((line) => line.startsWith('HTTP/1.1 429'))).toHaveLength(48);
      // The refused ones are closed by the server though their clients never close: only
      // the two admitted sockets stay.
      const open = () =>
        new Promise<number>((resolve, reject) => running.app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
      await until(async () => (await open()) === 2, { what: 'the refused sockets closed by the server' });
    } finally {
      for (const socket of raw) socket.destroy();
    }
  });

  it('charges large frames more of the rate limit: three 40 KiB sets after a handshake exceed a burst of 30 (4004)', async () => {
    gateway = await startGateway({ RATE_LIMIT_PER_SECOND: '1' });
    const client = await TestClient.join(gateway.url, 'heavy', 'heavy', { '☁ a': '0' });
    await membersAre(gateway, 'heavy', 1);
    // Valid sets, padded with an ignored property: 1 + 10 tokens each.
    const padded = JSON.stringify({ kind: 'set', variable: '☁ a', value: '1', pad: 'x'.repeat(40 * 1024) });
    client.send(padded);
    client.send(padded);
    client.send(padded);
    expect((await client.waitClose()).code).toBe(4004);
  });

  it('counts unusual client close codes under one "other" label', async () => {
    gateway = await startGateway();
    const client = await TestClient.connect(gateway.url);
    client.close(3333);
    await client.waitClose();
    await until(async () => (await gateway!.metrics.closes.get()).values.some((value) => value.labels.code === 'other'));
    const labels = (await gateway.metrics.closes.get()).values.map((value) => value.labels.code);
    expect(labels).not.toContain('3333');
  });
});
