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
  const found = [...running.app.websocketServer.clients].find(
    (socket) => (socket as unknown as { _socket: Socket })._socket.remotePort === port,
  );
  if (found === undefined) throw new Error(`no server socket for client port ${port}`);
  return found;
}

async function slowConsumerDrops(running: RunningGateway): Promise<number> {
  const metric = await running.metrics.protocolErrors.get();
  return metric.values.find((value) => value.labels.reason === 'slow-consumer')?.value ?? 0;
}

it('caps what a non-reading client holds, drops it, and keeps the rest of its room up to date', async () => {
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
}, DROP_TIMEOUT_MS + 30_000);
