/**
 * The drain's last phase: once clients are being closed with 1012, new WebSocket upgrades
 * get HTTP 503, so a proxy that retries on 503 (our nginx config does) sends the client to
 * another pod at once instead of letting it connect here and be closed again.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, until, upgradeStatus } from './support/client.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

describe('drain', () => {
  let gateway: RunningGateway | undefined;
  afterEach(async () => {
    await gateway?.stop();
  });

  it('answers new upgrades with 503 while it closes its clients with 1012', async () => {
    gateway = await startGateway({ DRAIN_DELAY_MS: '0' });
    const running = gateway;
    const stuck = await TestClient.join(running.url, 'drain503', 'stuck', { '☁ a': '0' });
    await membersAre(running, 'drain503', 1);
    // A client that stops reading cannot finish the close handshake: the drain waits for it.
    (stuck.socket as unknown as { _socket: Socket })._socket.pause();
    expect((await upgradeStatus(running.url)).status).toBe(101);

    const drained = running.drain();

    await until(async () => (await upgradeStatus(running.url)).status === 503, { what: 'an upgrade refused with 503' });
    await drained;
  });
});
