/**
 * The fault proxy on its own, in front of an echo server: each fault does what the fault
 * tests rely on, and no fault but `freeze` loses or reorders a byte of a link that stays open.
 * Time is only ever a lower bound here (a chunk never passes before its latency) or an
 * upper bound on what a cap let through: a slow machine makes neither fail.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../src/tcp-proxy.ts';
import { until } from '../src/until.ts';

interface Echo {
  readonly server: Server;
  readonly port: number;
  /** Bytes the echo server received, in order. */
  received: string;
}

async function startEcho(): Promise<Echo> {
  const echo: Echo = { server: createServer(), port: 0, received: '' };
  echo.server.on('connection', (socket) => {
    socket.on('data', (chunk: Buffer) => {
      echo.received += chunk.toString();
      socket.write(chunk);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => echo.server.listen(0, '127.0.0.1', resolve));
  const address = echo.server.address();
  return Object.assign(echo, { port: typeof address === 'object' && address !== null ? address.port : 0 });
}

interface Peer {
  readonly socket: Socket;
  /** What came back so far. */
  got: string;
  error: string | null;
  closed: boolean;
}

async function dial(proxy: TcpProxy): Promise<Peer> {
  const socket = connect(proxy.port, '127.0.0.1');
  const peer: Peer = { socket, got: '', error: null, closed: false };
  socket.on('data', (chunk: Buffer) => {
    peer.got += chunk.toString();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    peer.error = error.code ?? error.message;
  });
  socket.on('close', () => {
    peer.closed = true;
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return peer;
}

let echo: Echo | undefined;
let proxy: TcpProxy | undefined;
const peers: Peer[] = [];

async function setup(): Promise<{ proxy: TcpProxy; echo: Echo; peer: Peer }> {
  echo = await startEcho();
  proxy = await startTcpProxy(echo.port);
  const peer = await dial(proxy);
  peers.push(peer);
  return { proxy, echo, peer };
}

afterEach(async () => {
  for (const peer of peers.splice(0)) peer.socket.destroy();
  await proxy?.close();
  await new Promise<void>((resolve) => (echo ? echo.server.close(() => resolve()) : resolve()));
  proxy = undefined;
  echo = undefined;
});

describe('tcp proxy faults', () => {
  it('passes bytes both ways unchanged when healthy', async () => {
    const { peer, proxy } = await setup();
    peer.socket.write('hello');
    await until(() => peer.got === 'hello', { what: 'the echo' });
    expect(proxy.stats().passed).toEqual({ up: 5, down: 5 });
  });

  it('delays every chunk by the latency, each way, in order', async () => {
    const { peer, proxy, echo } = await setup();
    proxy.latency(150);
    const sent = performance.now();
    for (let i = 0; i < 20; i++) peer.socket.write(`${i},`);
    await until(() => echo.received.length > 0, { what: 'the first bytes at the target' });
    expect(performance.now() - sent).toBeGreaterThanOrEqual(145);
    const expected = Array.from({ length: 20 }, (_, i) => `${i},`).join('');
    await until(() => peer.got === expected, { what: 'every byte back, in order' });
    // Two legs of latency: the echo's reply waited again on the way back.
    expect(performance.now() - sent).toBeGreaterThanOrEqual(290);
  });

  it('black hole: nothing passes either way and sockets stay open; heal passes what was held, in order', async () => {
    const { peer, proxy, echo } = await setup();
    peer.socket.write('a');
    await until(() => peer.got === 'a', { what: 'the first echo' });
    proxy.blackhole();
    peer.socket.write('b');
    peer.socket.write('c');
    const late = await dial(proxy); // a new link is held too
    peers.push(late);
    late.socket.write('z');
    await until(() => proxy.stats().held.up === 3, { what: 'the held bytes' });
    expect(echo.received).toBe('a');
    expect([peer.closed, late.closed]).toEqual([false, false]);
    proxy.heal();
    await until(() => peer.got === 'abc' && late.got === 'z', { what: 'the held bytes to pass' });
  });

  it('half open: one direction stops, the other flows', async () => {
    const { peer, proxy, echo } = await setup();
    proxy.halfOpen('down');
    peer.socket.write('up');
    await until(() => echo.received === 'up', { what: 'the bytes to reach the target' });
    await until(() => proxy.stats().held.down === 2, { what: 'the reply to be held' });
    expect(peer.got).toBe('');
    proxy.heal();
    await until(() => peer.got === 'up', { what: 'the held reply' });

    proxy.halfOpen('up');
    peer.socket.write('x');
    await until(() => proxy.stats().held.up === 1, { what: 'the request to be held' });
    expect(echo.received).toBe('up');
    proxy.heal();
    await until(() => peer.got === 'upx', { what: 'the request and its reply' });
  });

  it('reset: open links get a RST; untilHealed resets new links too', async () => {
    const { peer, proxy } = await setup();
    expect(proxy.reset({ untilHealed: true })).toBe(1);
    await until(() => peer.closed, { what: 'the reset link to close' });
    expect(peer.error).toBe('ECONNRESET');
    const next = connect(proxy.port, '127.0.0.1');
    const outcome = await new Promise<string>((resolve) => {
      next.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      next.on('close', () => resolve('closed'));
    });
    expect(outcome).toBe('ECONNRESET');
    proxy.heal();
    const healed = await dial(proxy);
    peers.push(healed);
    healed.socket.write('ok');
    await until(() => healed.got === 'ok', { what: 'an echo after heal' });
  });

  it('slow link: never passes more than the cap allows, and all of it in the end', async () => {
    const { peer, proxy } = await setup();
    const cap = 20_000;
    proxy.throttle(cap);
    const payload = 'x'.repeat(30_000);
    const started = performance.now();
    peer.socket.write(payload);
    await until(() => proxy.stats().passed.up > 5_000, { what: 'some bytes through the cap' });
    const { passed } = proxy.stats();
    const elapsed = (performance.now() - started) / 1000;
    // The bucket starts full with 100 ms of burst; beyond it, the cap.
    expect(passed.up).toBeLessThanOrEqual(cap * elapsed + cap / 10 + 1);
    proxy.throttle(null);
    await until(() => peer.got.length === payload.length, { what: 'the whole payload back' });
    expect(peer.got).toBe(payload);
  });
});
