/**
 * Frames framed once by the pod (textFrame in ws/outbox.ts), written straight to a client's TCP
 * socket by the outbox: a ws client reads them as the text messages ws itself would have sent, at
 * every header size, between ws's own frames.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { until } from '@cloudvars/test-support/until';
import { FlushScheduler, Outbox, tcpSocketOf, textFrame } from '../src/ws/outbox.ts';

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A ws server and a client connected to it: the server's end of the socket, and what the client receives. */
async function connected(options: { perMessageDeflate?: boolean } = {}): Promise<{ server: WebSocket; received: string[]; client: WebSocket }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: options.perMessageDeflate ?? false });
  servers.push(wss);
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: options.perMessageDeflate ?? false });
  const received: string[] = [];
  client.on('message', (data, isBinary) => received.push(isBinary ? `binary:${data.toString()}` : data.toString()));
  await once(client, 'open');
  const [server] = await accepted;
  return { server, received, client };
}

describe('frames framed once per pod', () => {
  it('reach a ws client as text messages at every header size, in order with ws own frames', async () => {
    const { server, received } = await connected();
    const socket = tcpSocketOf(server);
    expect(socket).not.toBeNull();
    const texts = ['☁ short', 'x'.repeat(126), 'é'.repeat(40_000), 'y'.repeat(70_000)];
    for (const text of texts) {
      socket?.write(textFrame(text));
      server.send('from ws');
    }
    await until(() => received.length === texts.length * 2, { what: 'every frame' });
    expect(received).toEqual(texts.flatMap((text) => [text, 'from ws']));
  });

  it('are not used for a socket that negotiated compression: ws frames those', async () => {
    const { server } = await connected({ perMessageDeflate: true });
    expect(tcpSocketOf(server)).toBeNull();
  });

  it('are what an outbox writes to a ws socket, the same bytes for every client owed the same updates', async () => {
    const [a, b] = [await connected(), await connected()];
    const scheduler = new FlushScheduler(1024 * 1024, 10_000);
    const reports = { slowConsumer: () => undefined };
    const outboxes = [new Outbox(a.server, scheduler, reports), new Outbox(b.server, scheduler, reports)];
    for (const outbox of outboxes) {
      outbox.put('☁ x', 'one');
      outbox.put('☁ y', 'two');
    }
    scheduler.flushAll();
    await until(() => a.received.length === 1 && b.received.length === 1, { what: 'both frames' });
    expect([a.received, b.received]).toEqual([['one\ntwo'], ['one\ntwo']]);
  });
});
