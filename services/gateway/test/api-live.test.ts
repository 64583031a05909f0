/**
 * The live room subscription (GET /api/v1/rooms/{room}/live as a WebSocket) that the live
 * room page reads, on one in-memory gateway and on two pods sharing Redis: the room, then
 * every change from any pod, and its status; never a member of the room; read-only; bounded
 * like any connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { API_ENV, OPERATOR, admin, call, roomPath } from './support/api.ts';
import { TestClient, until, upgradeStatus } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';
import { TARGET_KINDS, startTarget, type Target } from './support/targets.ts';

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

  static async open(pod: RunningGateway, room: string): Promise<Viewer> {
    const socket = new WebSocket(`${pod.url}api/v1/rooms/${encodeURIComponent(room)}/live`, ['cloudvars-live']);
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
}

describe.each(TARGET_KINDS)('the live room subscription (%s)', (kind) => {
  let target: Target | undefined;
  afterEach(async () => {
    await target?.stop();
    target = undefined;
  });

  async function pods(env: Record<string, string> = {}): Promise<[RunningGateway, RunningGateway]> {
    target = await startTarget(kind, { ...API_ENV, ...env });
    return [target.gw, target.other ?? target.gw];
  }

  it('sends the room, then every change made on any pod, and its clients and log; it is no member of the room', async () => {
    const [a, b] = await pods();
    const room = 'live-feed';
    const alice = await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1' });
    await membersAre(a, room, 1);
    const viewer = await Viewer.open(b, room);
    await until(() => viewer.of('status').length > 0, { what: 'the first status' });
    expect(viewer.messages[0]).toEqual({ type: 'snapshot', room, variables: { [cloud('a')]: '1' } });
    expect(viewer.of('status')[0]).toEqual({ type: 'status', clients: 1, log: [] });
    alice.set(cloud('a'), '2');
    expect((await admin(b.httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('b'), value: '3' })).status).toBe(200);
    await until(() => viewer.of('set').length === 2, { what: 'both sets' });
    expect(viewer.of('set')).toEqual([
      { type: 'set', name: cloud('a'), value: '2' },
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

  it('closes live subscriptions with 1012 when the pod drains', async () => {
    const gw = await gateway({});
    const viewer = await Viewer.open(gw, 'bounded');
    await until(() => viewer.messages.length > 0);
    await gw.drain({ skipDelay: true });
    expect(await viewer.closedWith()).toBe(1012);
  });
});
