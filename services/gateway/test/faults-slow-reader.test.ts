/**
 * A client that stops reading (a frozen tab, a phone gone to sleep) while its room is
 * busy: the gateway holds at most one pending value per variable for it and never piles
 * more than one frame past SEND_BUFFER_LIMIT_BYTES onto its socket, drops it once it stays
 * behind, and the other clients of the room keep up (DESIGN.md invariant 6).
 */
import type { Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { TestClient, until } from './support/client.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

const SEND_BUFFER_LIMIT_BYTES = 16_384;
const VARIABLE_COUNT = 10;
/** Near the 1023-character cap, so each frame to the slow reader is as large as it gets. */
const VALUE_LENGTH = 1_000;
/** One frame holds at most one message per variable: its value plus JSON and frame overhead. */
const LARGEST_FRAME_BYTES = VARIABLE_COUNT * (VALUE_LENGTH + 64);
/** Bounds a failing run: the kernel's socket buffers fill first, then the 1 s grace runs. */
const DROP_TIMEOUT_MS = 60_000;

let gateway: RunningGateway | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients) client.close();
  await gateway?.stop();
});

const names = Array.from({ length: VARIABLE_COUNT }, (_, i) => `☁ v${i}`);
const valueFor = (n: number): string => `${n}`.padStart(VALUE_LENGTH, '9');

/** The ws client's TCP socket; pausing it stops reading, so the kernel buffers fill up. */
function tcpSocket(client: TestClient): Socket {
  return (client.socket as unknown as { _socket: Socket })._socket;
}

/** The gateway's end of `client`'s connection, matched by port. */
function serverSide(running: RunningGateway, client: TestClient): WebSocket {
  const port = tcpSocket(client).localPort;
  const found = [...running.app.websocketServer.clients].find((socket) => (socket as unknown as { _socket: Socket })._socket.remotePort === port);
  if (found === undefined) throw new Error(`no server socket for client port ${port}`);
  return found;
}

async function closesFor(running: RunningGateway, reason: string): Promise<number> {
  const metric = await running.metrics.protocolErrors.get();
  return metric.values.find((value) => value.labels.reason === reason)?.value ?? 0;
}

const slowConsumerDrops = (running: RunningGateway): Promise<number> => closesFor(running, 'slow-consumer');

/**
 * Sets `value` from `writer` until the gateway holds more than `bytes` unsent for `reader`
 * (whose socket is paused), then stops: the last set went out in one piece, so nothing is
 * pending for the reader any more, only unsent bytes.
 */
async function fillBacklog(writer: TestClient, reader: WebSocket, bytes: number): Promise<void> {
  for (let n = 0; reader.bufferedAmount <= bytes; n++) {
    if (n > 2_000) throw new Error(`the backlog never passed ${bytes} bytes`);
    writer.set('☁ big', `${n}${'9'.repeat(200_000)}`);
    const before = reader.bufferedAmount;
    await until(() => reader.bufferedAmount !== before || writer.socket.bufferedAmount === 0, { what: 'the set to go out' });
  }
}

it(
  'caps what a non-reading client holds, drops it, and keeps the rest of its room up to date',
  async () => {
    gateway = await startGateway({
      SEND_BUFFER_LIMIT_BYTES: String(SEND_BUFFER_LIMIT_BYTES),
      SLOW_CONSUMER_TIMEOUT_MS: '1000',
      MAX_VARIABLES: String(VARIABLE_COUNT),
      // The flood is the test's load, not misbehaviour to be rate limited.
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
    });
    const running = gateway;
    const initial = Object.fromEntries(names.map((name) => [name, '0']));
    const writer = await TestClient.join(running.url, 'flood', 'writer', initial);
    await membersAre(running, 'flood', 1);
    const fast = await TestClient.join(running.url, 'flood', 'fast', initial);
    const slow = await TestClient.join(running.url, 'flood', 'slow', initial);
    clients.push(writer, fast, slow);
    await Promise.all([fast.waitFrames(1), slow.waitFrames(1)]);
    const slowServerSide = serverSide(running, slow);
    tcpSocket(slow).pause();

    let n = 0;
    let largestBuffered = 0;
    let fastFramesWhileFlooding = 0;
    const flood = setInterval(() => {
      // Only as fast as the writer's own socket takes it, so the gateway is the bottleneck.
      if (writer.socket.bufferedAmount > 256 * 1024) return;
      for (const name of names) writer.set(name, valueFor(n++));
    }, 1);
    const sample = setInterval(() => {
      largestBuffered = Math.max(largestBuffered, slowServerSide.bufferedAmount);
    }, 5);
    try {
      await until(async () => (await slowConsumerDrops(running)) === 1, { timeoutMs: DROP_TIMEOUT_MS, what: 'the slow reader dropped' });
      fastFramesWhileFlooding = fast.frames.length;
    } finally {
      clearInterval(flood);
      clearInterval(sample);
    }

    // The slow reader got one frame beyond the cap at most, and is being closed.
    expect(largestBuffered).toBeGreaterThan(SEND_BUFFER_LIMIT_BYTES);
    expect(largestBuffered).toBeLessThanOrEqual(SEND_BUFFER_LIMIT_BYTES + LARGEST_FRAME_BYTES);
    expect(slowServerSide.readyState).toBeGreaterThanOrEqual(slowServerSide.CLOSING);

    // Everyone else kept up: the fast reader ends on the writer's latest values.
    await until(() => names.every((name) => fast.view.get(name) === writer.view.get(name)), { what: 'the fast reader caught up' });
    expect(fastFramesWhileFlooding).toBeGreaterThan(1);
    expect([writer.closed, fast.closed]).toEqual([null, null]);
    expect(n).toBeGreaterThan(VARIABLE_COUNT);

    tcpSocket(slow).resume();
    await slow.waitClose();
  },
  DROP_TIMEOUT_MS + 30_000,
);

it("drops a client that stopped reading and sends pongs of its own: only a pong carrying our ping's payload counts", async () => {
  gateway = await startGateway({ PING_INTERVAL_MS: '200' });
  const running = gateway;
  const client = await TestClient.connect(running.url, { autoPong: false });
  clients.push(client);
  await until(() => running.app.websocketServer.clients.size === 1, { what: 'the connection' });
  tcpSocket(client).pause();
  // Unsolicited pongs every 50 ms: it never read a ping, so it cannot echo the payload.
  const pongs = setInterval(() => client.socket.pong(Buffer.from('alive')), 50);
  try {
    await until(() => running.app.websocketServer.clients.size === 0, { what: 'the non-reading client dropped', timeoutMs: 10_000 });
  } finally {
    clearInterval(pongs);
  }
});

it('drops a client whose unsent data stays over SEND_BUFFER_LIMIT_BYTES though nothing more is sent to it', async () => {
  gateway = await startGateway({
    SEND_BUFFER_LIMIT_BYTES: '1024',
    SLOW_CONSUMER_TIMEOUT_MS: '300',
    MAX_VALUE_LENGTH: '300000',
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
  });
  const running = gateway;
  const writer = await TestClient.join(running.url, 'backlog', 'writer', { '☁ big': '0' });
  await membersAre(running, 'backlog', 1);
  const slow = await TestClient.join(running.url, 'backlog', 'slow', { '☁ big': '0' });
  clients.push(writer, slow);
  await slow.waitFrames(1);
  const slowServerSide = serverSide(running, slow);
  tcpSocket(slow).pause();
  await fillBacklog(writer, slowServerSide, 1024);
  // No update is pending for it any more: only the pod's sweep can notice.
  await until(async () => (await slowConsumerDrops(running)) === 1, { what: 'the slow reader dropped', timeoutMs: 10_000 });
  expect(writer.closed).toBeNull();
}, 60_000);

it('drops the clients holding the most unsent data first when the pod holds more than SEND_BUFFER_POD_LIMIT_BYTES', async () => {
  gateway = await startGateway({
    SEND_BUFFER_POD_LIMIT_BYTES: String(300_000),
    SEND_BUFFER_LIMIT_BYTES: String(64 * 1024 * 1024),
    SLOW_CONSUMER_TIMEOUT_MS: '600000',
    MAX_VALUE_LENGTH: '300000',
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
  });
  const running = gateway;
  const writer = await TestClient.join(running.url, 'budget', 'writer', { '☁ big': '0' });
  await membersAre(running, 'budget', 1);
  const slow = await TestClient.join(running.url, 'budget', 'slow', { '☁ big': '0' });
  const fast = await TestClient.join(running.url, 'budget', 'fast', { '☁ big': '0' });
  clients.push(writer, slow, fast);
  await Promise.all([slow.waitFrames(1), fast.waitFrames(1)]);
  const slowServerSide = serverSide(running, slow);
  tcpSocket(slow).pause();
  await fillBacklog(writer, slowServerSide, 300_000);
  await until(async () => (await closesFor(running, 'pod-send-buffer-full')) === 1, { what: 'the largest backlog dropped', timeoutMs: 10_000 });
  expect(slowServerSide.readyState).toBeGreaterThanOrEqual(slowServerSide.CLOSING);
  // The reader that keeps up is untouched and still served.
  writer.set('☁ big', '1');
  await until(() => fast.view.get('☁ big') === '1', { what: 'the fast reader served' });
  expect(fast.closed).toBeNull();
}, 60_000);
