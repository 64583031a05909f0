/**
 * The Redis bus's bookkeeping of subscribed rooms, against a transport whose replies the
 * test controls (issue 13 #7): a failed SUBSCRIBE must not remove a room that an
 * unsubscribe and a newer, successful subscribe re-added meanwhile.
 */
import { describe, expect, it } from 'vitest';
import type { RoomEvent } from '../src/ports.ts';
import { BusInbox, RedisBus } from '../src/redis/bus.ts';
import { roomKeys } from '../src/redis/keys.ts';
import type { PubSubTransport } from '../src/redis/transport.ts';

interface Pending {
  readonly channels: readonly string[];
  resolve(): void;
  reject(error: Error): void;
}

/**
 * A bus over a transport whose subscribes wait for the test to answer them; `deliver` is a
 * message arriving from the transport's reader.
 */
function controlledBus(): { bus: RedisBus; inbox: BusInbox; subscribes: Pending[]; deliver(channel: string, message: string): void } {
  const subscribes: Pending[] = [];
  const inbox = new BusInbox({ prefix: 'cv:', podId: 'pod', report: () => undefined, podChannels: [] });
  const transport: PubSubTransport = {
    subscribe: (channels) =>
      new Promise<void>((resolve, reject) => {
        subscribes.push({ channels, resolve, reject });
      }),
    unsubscribe: async () => undefined,
    publish: async () => undefined,
    isReady: () => true,
    repair: () => false,
  };
  const bus = new RedisBus(inbox, transport, () => undefined);
  return { bus, inbox, subscribes, deliver: (channel, message) => inbox.message(channel, message) };
}

describe('redis bus subscriptions', () => {
  it('keeps a room subscribed when an older subscribe of it fails after an unsubscribe and a newer subscribe succeeded', async () => {
    const { bus, inbox, subscribes, deliver } = controlledBus();
    const events: RoomEvent[] = [];
    bus.listen({ onEvent: (event) => events.push(event), onResync: () => undefined });
    const started = bus.start();
    subscribes.shift()?.resolve(); // the probe channel
    await started;

    const first = bus.subscribe(['r']);
    await bus.unsubscribe(['r']);
    const second = bus.subscribe(['r']);
    subscribes[1]?.resolve();
    await second;
    subscribes[0]?.reject(new Error('the first SUBSCRIBE failed'));
    await expect(first).rejects.toThrow('the first SUBSCRIBE failed');

    const channel = roomKeys('cv:', 'r').channel;
    expect(inbox.channels()).toContain(channel);
    deliver(channel, JSON.stringify(['epoch', 1, 'c1', '☁ a', '1']));
    expect(events).toEqual([{ type: 'set', room: 'r', epoch: 'epoch', seq: 1, origin: 'c1', variable: '☁ a', value: '1' }]);
  });

  it('forgets a room whose only subscribe failed, so it is neither resubscribed nor delivered', async () => {
    const { bus, inbox, subscribes, deliver } = controlledBus();
    const events: RoomEvent[] = [];
    bus.listen({ onEvent: (event) => events.push(event), onResync: () => undefined });
    const started = bus.start();
    subscribes.shift()?.resolve(); // the probe channel
    await started;
    const failing = bus.subscribe(['r']);
    subscribes[0]?.reject(new Error('down'));
    await expect(failing).rejects.toThrow('down');
    const channel = roomKeys('cv:', 'r').channel;
    expect(inbox.channels()).not.toContain(channel);
    deliver(channel, JSON.stringify(['epoch', 1, 'c1', '☁ a', '1']));
    expect(events).toEqual([]);
  });
});
