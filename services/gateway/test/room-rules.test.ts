/**
 * A room's rules (its project policy and the limits made from it) are fields of the pod's
 * room (hub/room-hub.ts), which a joined client's frames and sets read instead of the policy
 * book. A live page may enter a room on a pod before any client does: the client joining
 * later is still held to the policy in force, whether it was put before the page came or
 * while only the page was there. Two pods on Redis, so that the room exists in the store
 * while the pod of the page has no client in it.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { podsPerTest } from './support/api.ts';
import { joined, until } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import type { RunningGateway } from './support/gateway.ts';
import { ignored, policyInForce } from './support/policies.ts';

/** A live page on `room` at `pod`, once it was sent the room (its member is in the pod's room). */
async function livePage(pod: RunningGateway, room: string): Promise<WebSocket> {
  const socket = new WebSocket(`${pod.url}api/v1/rooms/${encodeURIComponent(room)}/live`, ['cloudvars-live']);
  let messages = 0;
  socket.on('message', () => (messages += 1));
  await until(() => messages > 0, { what: 'the page to be sent the room' });
  return socket;
}

describe("a room's rules on a pod a live page entered first", () => {
  const { pods } = podsPerTest('redis');

  it('holds a client joining there to the policy put before the page came: its text sets apply under textValues', async () => {
    const [a, b] = await pods();
    const room = 'rules-before-page';
    const watcher = await joined(b, room, 'bob');
    await policyInForce(b, a, room, { textValues: true });
    const page = await livePage(a, room);
    const writer = await joined(a, room, 'alice');
    writer.set(cloud('name'), 'hello');
    await until(() => watcher.view.get(cloud('name')) === 'hello', { what: 'the text set under the policy' });
    expect(await ignored([a, b], 'invalid-value')).toBe(0);
    page.close();
  });

  it('holds a client joining there to the policy put while only the page was there, and to its DELETE', async () => {
    const [a, b] = await pods();
    const room = 'rules-after-page';
    const watcher = await joined(b, room, 'bob');
    const page = await livePage(a, room);
    await policyInForce(b, a, room, { textValues: true });
    const writer = await joined(a, room, 'alice');
    writer.set(cloud('name'), 'hello');
    await until(() => watcher.view.get(cloud('name')) === 'hello', { what: 'the text set under the policy' });
    await policyInForce(b, a, room, null);
    writer.set(cloud('name'), 'bye');
    await until(async () => (await ignored([a, b], 'invalid-value')) === 1, { what: 'text ignored after the DELETE (ALLOW_TEXT_VALUES off)' });
    writer.set(cloud('n'), '2');
    await until(() => watcher.view.get(cloud('n')) === '2', { what: 'a number after the DELETE' });
    expect(watcher.view.get(cloud('name'))).toBe('hello');
    page.close();
  });
});
