/**
 * The live room subscription (GET /api/v1/rooms/{room}/live as a WebSocket) that the live
 * room page reads, on one in-memory gateway and on two pods sharing Redis: the room, then
 * every change from any pod, and its status; never a member of the room; read-only; bounded
 * like any connection.
 */
import { connect, type Socket } from 'node:net';
import type { RoomSnapshot, RoomStore } from '@cloudvars/rooms';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { engineLimits } from '../src/engine.ts';
import { API_ENV, OPERATOR, admin, call, roomPath, podsPerTest } from './support/api.ts';
import { TestClient, until, upgradeStatus } from './support/client.ts';
import { cloud, metricValue } from './support/conformance.ts';
import { collectLogs, membersAre, startGateway, type RunningGateway } from './support/gateway.ts';
import { lossyEngine, type BusFaults } from './support/lossy-engine.ts';
import { TARGET_KINDS } from './support/targets.ts';

interface LiveMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** A page's live subscription, as a test sees it. */
class Viewer {
  readonly messages: LiveMessage[] = [];
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.messages.push(JSON.parse(String(data)) as LiveMessage));
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
    });
  }

  /** `headers` (X-Forwarded-For...) go with the upgrade; without `autoPong` the test answers pings itself. */
  static async open(pod: RunningGateway, room: string, options: { headers?: Record<string, string>; autoPong?: boolean } = {}): Promise<Viewer> {
    const socket = new WebSocket(`${pod.url}api/v1/rooms/${encodeURIComponent(room)}/live`, ['cloudvars-live'], {
      autoPong: options.autoPong ?? true,
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    });
    const viewer = new Viewer(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return viewer;
  }

  of(type: string): LiveMessage[] {
    return this.messages.filter((message) => message.type === type);
  }

  async closedWith(): Promise<number> {
    await until(() => this.closed !== null, { what: 'the subscription to close' });
    return (this.closed as { code: number }).code;
  }

  /** The client's TCP socket: pausing it stops reading, so the kernel's buffers fill up. */
  get tcp(): Socket {
    return (this.socket as unknown as { _socket: Socket })._socket;
  }

  /** The gateway's end of this subscription, matched by port. */
  serverSide(pod: RunningGateway): WebSocket {
    const port = this.tcp.localPort;
    const found = [...pod.app.websocketServer.clients].find((socket) => (socket as unknown as { _socket: Socket })._socket.remotePort === port);
    if (found === undefined) throw new Error(`no server socket for port ${port}`);
    return found;
  }
}

/** The room as a page shows it after `messages`, in order (as room.html applies them). */
/** Values as the page shows them: typed (a 2020 client's number text is a number there). */
type PageValue = string | number;

function pageView(messages: readonly LiveMessage[]): Record<string, PageValue> {
  let view: Record<string, PageValue> = {};
  for (const message of messages) {
    const name = message.name as string;
    switch (message.type) {
      case 'snapshot':
        view = { ...(message.variables as Record<string, PageValue>) };
        break;
      case 'set':
        view[name] = message.value as PageValue;
        break;
      case 'rename': {
        const value = view[name];
        delete view[name];
        if (value !== undefined) view[message.newName as string] = value;
        break;
      }
      case 'delete':
        delete view[name];
        break;
    }
  }
  return view;
}

function equalViews(a: Record<string, PageValue>, b: Record<string, PageValue>): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => a[name] === b[name]);
}

/** Opens a live subscription: its socket once open, or the HTTP status it was refused with (0: no answer). */
function upgradeOutcome(url: string): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, ['cloudvars-live']);
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', () => resolve(0));
  });
}

/** The pod's cloudvars_live_viewers: its seats, subscriptions from their admission until their socket closed. */
async function liveSeats(pod: RunningGateway): Promise<number | undefined> {
  return metricValue(await (await fetch(pod.metricsUrl)).text(), 'cloudvars_live_viewers');
}

/**
 * A GET of `path` with `headers` over a raw TCP socket (fetch refuses upgrade headers):
 * the answer's status line, and the socket, which the caller ends (it may be kept alive).
 */
function rawGet(httpUrl: string, path: string, headers: string[]): Promise<{ status: string; socket: Socket }> {
  const { hostname, port } = new URL(httpUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n${headers.map((header) => `${header}\r\n`).join('')}\r\n`);
    });
    socket.once('data', (chunk: Buffer) => resolve({ status: chunk.toString('latin1').split('\r\n')[0] ?? '', socket }));
    socket.once('close', () => resolve({ status: '', socket }));
    socket.on('error', reject);
  });
}

describe.each(TARGET_KINDS)('the live room subscription (%s)', (kind) => {
  const { pods } = podsPerTest(kind);

  it('sends the room, then every change made on any pod, and its clients and log; it is no member of the room', async () => {
    const [a, b] = await pods();
    const room = 'live-feed';
    const alice = await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1' });
    await membersAre(a, room, 1);
    const viewer = await Viewer.open(b, room);
    await until(() => viewer.of('status').length > 0, { what: 'the first status' });
    // Typed as Scratch 3 clients receive them: the 2020 client's number text is a number, the operator's string a string.
    expect(viewer.messages[0]).toEqual({ type: 'snapshot', room, variables: { [cloud('a')]: 1 } });
    expect(viewer.of('status')[0]).toEqual({ type: 'status', clients: 1, log: [] });
    alice.set(cloud('a'), '2');
    expect((await admin(b.httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('b'), value: '3' })).status).toBe(200);
    await until(() => viewer.of('set').length === 2, { what: 'both sets' });
    expect(viewer.of('set')).toEqual([
      { type: 'set', name: cloud('a'), value: 2 },
      { type: 'set', name: cloud('b'), value: '3' },
    ]);
    await until(() => (viewer.of('status').at(-1)?.log as unknown[]).length === 2, { what: 'the log in the status' });
    expect((viewer.of('status').at(-1)?.log as { user: string }[]).map((entry) => entry.user)).toEqual([OPERATOR.name, 'alice']);
    // Not a member: the room counts one client, and a viewer is no client to the others.
    expect(await a.engine.store.memberCount(room)).toBe(1);
    expect(((await call(a.httpUrl, 'GET', roomPath(room))).body as { clients: number }).clients).toBe(1);
    const bob = await TestClient.join(a.url, room, 'bob', {}, 'scratch');
    await until(() => viewer.of('status').at(-1)?.clients === 2, { what: 'the status to count bob' });
    bob.close();
    await until(() => viewer.of('status').at(-1)?.clients === 1, { what: 'the status to see bob leave' });
    expect(viewer.closed).toBeNull();
  });

  it('is read-only: anything the page sends closes it (1003) and changes nothing', async () => {
    const [a, b] = await pods();
    const room = 'live-read-only';
    await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1' });
    await membersAre(a, room, 1);
    const viewer = await Viewer.open(b, room);
    await until(() => viewer.messages.length > 0);
    viewer.socket.send(JSON.stringify({ kind: 'set', variable: cloud('a'), value: '666' }));
    viewer.socket.send(JSON.stringify({ method: 'set', name: cloud('a'), value: '666' }));
    expect(await viewer.closedWith()).toBe(1003);
    expect((await a.engine.store.snapshot(room))?.variables).toEqual([[cloud('a'), '1']]);
  });

  it('closes with 4404 for a room that does not exist, and with 4010 when an operator deletes the room', async () => {
    const [a, b] = await pods();
    expect(await (await Viewer.open(a, 'live-nothing')).closedWith()).toBe(4404);
    const room = 'live-deleted';
    await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1' });
    await membersAre(a, room, 1);
    const viewers = [await Viewer.open(a, room), await Viewer.open(b, room)];
    await until(() => viewers.every((viewer) => viewer.messages.length > 0));
    expect((await admin(a.httpUrl, 'DELETE', roomPath(room))).status).toBe(200);
    for (const viewer of viewers) expect(await viewer.closedWith()).toBe(4010);
  });

  it.each([
    ['LIVE_VIEWERS_PER_ADDRESS', 429],
    ['MAX_LIVE_VIEWERS', 503],
  ] as const)('takes a seat at admission: 40 upgrades at once open exactly %s (3) subscriptions, the others get %i', async (setting, status) => {
    const [a] = await pods({ [setting]: '3' });
    const room = 'live-seats';
    await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1' });
    await membersAre(a, room, 1);
    const outcomes = await Promise.all(Array.from({ length: 40 }, () => upgradeOutcome(`${a.url}api/v1/rooms/${room}/live`)));
    const opened = outcomes.filter((outcome): outcome is WebSocket => typeof outcome !== 'number');
    expect(opened.length).toBe(3);
    expect(outcomes.filter((outcome) => outcome === status).length).toBe(37);
    // Every seat is given back when its subscription ends.
    for (const socket of opened) socket.close();
    await until(async () => (await liveSeats(a)) === 0, { what: 'every seat to be given back' });
    const again = await Promise.all(Array.from({ length: 3 }, () => upgradeOutcome(`${a.url}api/v1/rooms/${room}/live`)));
    expect(again.map((outcome) => typeof outcome)).toEqual(['object', 'object', 'object']);
    for (const socket of again) if (typeof socket !== 'number') socket.close();
  });

  it('gives a seat back on every path that does not end in a subscription: a plain GET, a failed upgrade, a refused subprotocol', async () => {
    const [a] = await pods({ LIVE_VIEWERS_PER_ADDRESS: '2' });
    const room = 'live-seat-paths';
    await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1' });
    await membersAre(a, room, 1);
    const path = `/api/v1/rooms/${room}/live`;
    const keptAlive: Socket[] = [];
    for (let i = 0; i < 5; i++) {
      // "Upgrade: websocket" without "Connection: Upgrade" is no upgrade: 426, on a socket kept alive.
      const plain = await rawGet(a.httpUrl, path, ['Connection: keep-alive', 'Upgrade: websocket']);
      expect(plain.status).toMatch(/^HTTP\/1\.1 426/);
      keptAlive.push(plain.socket);
      // An upgrade ws refuses (no Sec-WebSocket-Key): 400 and the socket ends.
      const failed = await rawGet(a.httpUrl, path, ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13']);
      expect(failed.status).toMatch(/^HTTP\/1\.1 400/);
      // A subprotocol the page does not speak: closed at once (1002).
      const wrong = new WebSocket(`${a.url}api/v1/rooms/${room}/live`, ['not-live']);
      expect(await new Promise<number>((resolve) => wrong.once('close', resolve))).toBe(1002);
    }
    await until(async () => (await liveSeats(a)) === 0, { what: 'every seat to be given back' });
    const outcomes = await Promise.all([0, 1, 2].map(() => upgradeOutcome(`${a.url}${path.slice(1)}`)));
    expect(outcomes.map((outcome) => (typeof outcome === 'number' ? outcome : 101)).sort()).toEqual([101, 101, 429]);
    for (const socket of outcomes) if (typeof socket !== 'number') socket.close();
    for (const socket of keptAlive) socket.destroy();
  });

  it('answers a plain GET with 426 and a bad room with 400, before any upgrade', async () => {
    const [a] = await pods();
    const plain = await call(a.httpUrl, 'GET', `${roomPath('x')}/live`);
    expect([plain.status, (plain.body as { error: string }).error]).toEqual([426, 'upgrade-required']);
    expect((await upgradeStatus(`${a.url}api/v1/rooms/${'x'.repeat(1000)}/live`)).status).toBe(400);
  });
});

describe('live subscriptions are bounded like connections', () => {
  const running: RunningGateway[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((gw) => gw.stop()));
  });

  async function gateway(env: Record<string, string>): Promise<RunningGateway> {
    const gw = await startGateway({ ...API_ENV, ...env });
    running.push(gw);
    await TestClient.join(gw.url, 'bounded', 'alice', { [cloud('a')]: '1' });
    await membersAre(gw, 'bounded', 1);
    return gw;
  }

  it('refuses a subscription beyond LIVE_VIEWERS_PER_ADDRESS (429) and MAX_LIVE_VIEWERS (503) before its upgrade', async () => {
    const perAddress = await gateway({ LIVE_VIEWERS_PER_ADDRESS: '2' });
    const kept = [await Viewer.open(perAddress, 'bounded'), await Viewer.open(perAddress, 'bounded')];
    expect(await upgradeStatus(`${perAddress.url}api/v1/rooms/bounded/live`)).toEqual({ status: 429, retryAfter: '5' });
    kept[0]?.socket.close();
    await until(async () => (await upgradeStatus(`${perAddress.url}api/v1/rooms/bounded/live`)).status === 101, { what: 'a place to free' });

    const perPod = await gateway({ MAX_LIVE_VIEWERS: '1' });
    await Viewer.open(perPod, 'bounded');
    expect((await upgradeStatus(`${perPod.url}api/v1/rooms/bounded/live`)).status).toBe(503);
  });

  it("counts an IPv6 address's subscriptions by its /64 (LIVE_VIEWERS_PER_ADDRESS)", async () => {
    const gw = await gateway({ LIVE_VIEWERS_PER_ADDRESS: '1', TRUST_PROXY: 'true' });
    const live = `${gw.url}api/v1/rooms/bounded/live`;
    const kept = await Viewer.open(gw, 'bounded', { headers: { 'x-forwarded-for': '2001:db8:a:b::1' } });
    expect(await upgradeStatus(live, { 'x-forwarded-for': '2001:db8:a:b:ffff::2' })).toEqual({ status: 429, retryAfter: '5' });
    expect((await upgradeStatus(live, { 'x-forwarded-for': '2001:db8:a:c::1' })).status).toBe(101);
    kept.socket.close();
    await until(async () => (await upgradeStatus(live, { 'x-forwarded-for': '2001:db8:a:b::3' })).status === 101, { what: "the /64's place to free" });
  });

  it("drops a page that answers pings with pongs of its own (only the ping's payload counts), keeps one that echoes them", async () => {
    const gw = await gateway({ PING_INTERVAL_MS: '100' });
    const echoing = await Viewer.open(gw, 'bounded');
    let echoed = 0;
    echoing.socket.on('ping', () => echoed++);
    const faking = await Viewer.open(gw, 'bounded', { autoPong: false });
    faking.socket.on('ping', () => faking.socket.pong(Buffer.from('still here')));
    // One round unanswered with its payload, and the next ends the socket (no close frame).
    expect(await faking.closedWith()).toBe(1006);
    const seen = echoed;
    await until(() => echoed >= seen + 3, { what: 'three more ping rounds' });
    expect(echoing.closed).toBeNull();
  });

  it('closes a page that stopped reading (1008) once its unsent data stayed over SEND_BUFFER_LIMIT_BYTES, though nothing more is sent', async () => {
    const limit = 16_384;
    const gw = await gateway({
      SEND_BUFFER_LIMIT_BYTES: String(limit),
      SLOW_CONSUMER_TIMEOUT_MS: '300',
      // No log: the status stays the same, so nothing at all is sent once the sets stop.
      CLOUD_LOG_LENGTH: '0',
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
    });
    const writer = await TestClient.join(gw.url, 'slow-page', 'writer', { [cloud('big')]: '0' });
    await membersAre(gw, 'slow-page', 1);
    const reading = await Viewer.open(gw, 'slow-page');
    const stopped = await Viewer.open(gw, 'slow-page');
    await until(() => reading.of('status').length > 0 && stopped.of('status').length > 0, { what: 'both pages to start' });
    const server = stopped.serverSide(gw);
    stopped.tcp.pause();
    // Sets until the stopped page holds more than the limit unsent. The hub hands each event
    // to every page at once: once the reading page has it, the stopped page was sent it too.
    for (let n = 1; server.bufferedAmount <= limit; n++) {
      if (n > 2_000) throw new Error(`the backlog never passed ${limit} bytes`);
      writer.set(cloud('big'), `${n}${'9'.repeat(90_000)}`);
      await until(() => reading.of('set').length === n, { what: `set ${n} to reach the reading page` });
    }
    expect(server.readyState).toBe(WebSocket.OPEN);
    // Nothing more is sent to it: the pod's sweep closes it.
    await until(() => server.readyState !== WebSocket.OPEN, { what: 'the sweep to close the stopped page' });
    stopped.tcp.resume();
    expect(await stopped.closedWith()).toBe(1008);
    expect(reading.closed).toBeNull();
  });

  it('counts pages toward SEND_BUFFER_POD_LIMIT_BYTES with the clients: the page holding the most unsent is dropped (1008), a reading page and the clients stay', async () => {
    const podLimit = 300_000;
    const gw = await gateway({
      SEND_BUFFER_POD_LIMIT_BYTES: String(podLimit),
      // No page or client reaches its own limit, nor stays over it long enough: only the pod's budget can drop it.
      SEND_BUFFER_LIMIT_BYTES: String(64 * 1024 * 1024),
      SLOW_CONSUMER_TIMEOUT_MS: '600000',
      CLOUD_LOG_LENGTH: '0',
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
    });
    const writer = await TestClient.join(gw.url, 'pod-budget-page', 'writer', { [cloud('big')]: '0' });
    await membersAre(gw, 'pod-budget-page', 1);
    const reading = await Viewer.open(gw, 'pod-budget-page');
    const stopped = await Viewer.open(gw, 'pod-budget-page');
    await until(() => reading.of('status').length > 0 && stopped.of('status').length > 0, { what: 'both pages to start' });
    const server = stopped.serverSide(gw);
    stopped.tcp.pause();
    // Sets until the stopped page alone holds more than the pod's limit unsent (the hub hands
    // each event to every page at once: once the reading page has it, the stopped page was sent it).
    for (let n = 1; server.bufferedAmount <= podLimit && server.readyState === WebSocket.OPEN; n++) {
      if (n > 2_000) throw new Error(`the backlog never passed ${podLimit} bytes`);
      writer.set(cloud('big'), `${n}${'9'.repeat(90_000)}`);
      await until(() => reading.of('set').length === n, { what: `set ${n} to reach the reading page` });
    }
    await until(() => server.readyState !== WebSocket.OPEN, { what: "the pod's budget to drop the stopped page" });
    stopped.tcp.resume();
    expect(await stopped.closedWith()).toBe(1008);
    expect(reading.closed).toBeNull();
    // The page that reads is still served.
    writer.set(cloud('big'), '1');
    await until(() => pageView(reading.messages)[cloud('big')] === 1, { what: 'the reading page served' });
    expect(writer.closed).toBeNull();
  });

  it('serves a big room to a page on a slow link: changes made while its snapshot is still unsent are held back, not closed for (1008), and it ends on the room', async () => {
    const limit = 16_384;
    const gw = await gateway({
      SEND_BUFFER_LIMIT_BYTES: String(limit),
      // Far longer than the slow page takes to read the room: only falling behind is tested.
      SLOW_CONSUMER_TIMEOUT_MS: '60000',
      // A room of 4 MB: loopback's kernel buffers take a few MB from a page that does not read.
      MAX_VALUE_LENGTH: '1000000',
      MAX_ROOM_BYTES: String(16 * 1024 * 1024),
      MAX_PAYLOAD_BYTES: String(16 * 1024 * 1024),
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
    });
    const room = 'big-room';
    const initial = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [cloud(`v${i}`), `${i + 1}`.repeat(1_000_000)]));
    const writer = await TestClient.join(gw.url, room, 'writer', initial);
    await membersAre(gw, room, 1);
    const reading = await Viewer.open(gw, room);
    const slow = await Viewer.open(gw, room);
    slow.tcp.pause();
    const server = slow.serverSide(gw);
    await until(() => reading.of('snapshot').length === 1 && server.bufferedAmount > limit, { what: 'the snapshot stuck on the slow link' });
    const stuck = server.bufferedAmount;
    // Changes while the snapshot is unsent: the hub hands each event to both pages at once
    // (the reading page, behind too while it reads 4 MB, may get the room anew instead).
    for (let n = 1; n <= 5; n++) {
      writer.set(cloud('v0'), String(n));
      await until(() => pageView(reading.messages)[cloud('v0')] === n, { what: `set ${n} to reach the reading page` });
    }
    writer.set(cloud('v1'), '42');
    await until(() => pageView(reading.messages)[cloud('v1')] === 42, { what: 'the last set to reach the reading page' });
    expect(server.readyState).toBe(WebSocket.OPEN);
    // Nothing piled up behind the snapshot meanwhile.
    expect(server.bufferedAmount).toBeLessThanOrEqual(stuck);
    // The page reads again, slowly: a few milliseconds of reading now and then.
    // Each read's pause is its own timer: stopped with the interval, or one due after the
    // `finally` below would leave the page paused for good (it did, under load).
    let pauseAgain: NodeJS.Timeout | undefined;
    const slowly = setInterval(() => {
      slow.tcp.resume();
      pauseAgain = setTimeout(() => slow.tcp.pause(), 2);
    }, 20);
    // The writer's number texts are numbers on the page; the 1 MB digit strings are no number's writing.
    const expected = { ...initial, [cloud('v0')]: 5, [cloud('v1')]: 42 };
    try {
      await until(() => equalViews(pageView(slow.messages), expected), { what: 'the slow page to show the room', timeoutMs: 30_000 });
    } finally {
      clearInterval(slowly);
      clearTimeout(pauseAgain);
      slow.tcp.resume();
    }
    expect(slow.closed).toBeNull();
    expect(reading.closed).toBeNull();
    // And it follows the room from there, as any page.
    writer.set(cloud('v2'), '7');
    await until(() => pageView(slow.messages)[cloud('v2')] === 7, { what: 'the next change on the slow page' });
  }, 60_000);

  it("takes a page's bad frame (invalid UTF-8) as the client's error: 1007, counted in cloudvars_client_errors_total, no error-level line", async () => {
    const { lines, logger } = collectLogs('debug');
    const gw = await startGateway(API_ENV, undefined, logger);
    running.push(gw);
    await TestClient.join(gw.url, 'bounded', 'alice', { [cloud('a')]: '1' });
    await membersAre(gw, 'bounded', 1);
    for (let i = 0; i < 3; i++) {
      const viewer = await Viewer.open(gw, 'bounded');
      await until(() => viewer.messages.length > 0, { what: 'the page to start' });
      viewer.socket.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
      expect(await viewer.closedWith()).toBe(1007);
    }
    const exposition = await (await fetch(gw.metricsUrl)).text();
    expect(metricValue(exposition, 'cloudvars_client_errors_total{code="WS_ERR_INVALID_UTF8"}')).toBe(3);
    // pino's levels: 50 is error; a visitor's bad frame is no alert.
    expect(lines.filter((line) => (line.level as number) >= 50)).toEqual([]);
    expect(lines.filter((line) => line.msg === 'socket error' && line.code === 'WS_ERR_INVALID_UTF8')).toHaveLength(3);
  });

  it('closes live subscriptions with 1012 when the pod drains', async () => {
    const gw = await gateway({});
    const viewer = await Viewer.open(gw, 'bounded');
    await until(() => viewer.messages.length > 0);
    await gw.drain({ skipDelay: true });
    expect(await viewer.closedWith()).toBe(1012);
  });
});

describe('a live subscription whose snapshot read is overtaken by a resync', () => {
  let gw: RunningGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it("shows the resync's newer room, not its own older read", async () => {
    let faults: BusFaults | undefined;
    /** Armed: the next snapshot read is made at once but answered only on release. */
    let armed = false;
    let release: (() => void) | null = null;
    gw = await startGateway(API_ENV, (config) => {
      const lossy = lossyEngine(engineLimits(config));
      faults = lossy.faults;
      const store = new Proxy(lossy.engine.store, {
        get(target, property, receiver): unknown {
          if (property === 'snapshot') {
            return async (room: string): Promise<RoomSnapshot | null> => {
              const snapshot = await target.snapshot(room);
              if (armed) {
                armed = false;
                await new Promise<void>((resolve) => {
                  release = resolve;
                });
              }
              return snapshot;
            };
          }
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }) satisfies RoomStore;
      return { ...lossy.engine, store };
    });
    const running = gw;
    const room = 'live-resync';
    const writer = await TestClient.join(running.url, room, 'writer', { [cloud('a')]: '1' });
    await membersAre(running, room, 1);
    const reader = await TestClient.join(running.url, room, 'reader', { [cloud('a')]: '1' });
    await membersAre(running, room, 2);

    armed = true;
    const viewer = await Viewer.open(running, room);
    await until(() => release !== null, { what: "the page's snapshot read to start" });
    // Meanwhile a set is lost on the bus, and a reconnect makes the pod re-read the room.
    const bus = faults as BusFaults;
    bus.drop = () => true;
    writer.set(cloud('a'), '2');
    await until(async () => (await running.engine.store.snapshot(room))?.variables.some(([, value]) => value === '2') === true, {
      what: 'the set to be stored',
    });
    bus.drop = () => false;
    bus.reconnect();
    await until(() => reader.view.get(cloud('a')) === '2', { what: "the resync to reach the room's clients" });
    expect(viewer.messages).toEqual([]);

    (release as unknown as () => void)();
    await until(() => viewer.of('status').length > 0, { what: 'the page to start' });
    expect(viewer.of('snapshot')).toEqual([{ type: 'snapshot', room, variables: { [cloud('a')]: 2 } }]);
    writer.set(cloud('a'), '3');
    await until(() => viewer.of('set').length > 0, { what: 'the next set' });
    expect(viewer.of('set')).toEqual([{ type: 'set', name: cloud('a'), value: 3 }]);
    expect(viewer.closed).toBeNull();
  });
});
