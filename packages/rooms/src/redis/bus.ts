/**
 * RoomBus on Redis pub/sub. Events are parsed and handed to the listener synchronously in
 * the reader's message callback, never awaited (invariant 8). The probe travels the same
 * path as events: a pod-private channel on the same subscriber (or shard).
 */
import type { BusListener, RoomBus } from '../ports.ts';
import { listenerAlreadySet, toError } from '../errors.ts';
import { parseChannel, probeChannel, roomKeys } from './keys.ts';
import { parseEventPayload } from './replies.ts';
import type { PubSubTransport } from './transport.ts';
import type { EngineStatusEvent } from '../ports.ts';

export interface RedisBus extends RoomBus {
  /** Subscribes the probe channel; resolves once probes can come back. */
  start(): Promise<void>;
  /** Channels to subscribe again after a reconnect (rooms and the probe). */
  channels(): readonly string[];
  /** Answers every pending probe with false (at close), instead of leaving it to its timeout. */
  abandonProbes(): void;
}

/** A room's subscription, as one object per subscribe that made it (compared by identity). */
interface Subscription {
  readonly room: string;
  readonly channel: string;
}

export interface RedisBusOptions {
  readonly prefix: string;
  readonly podId: string;
  readonly transport: PubSubTransport;
  readonly report: (event: EngineStatusEvent) => void;
}

export function createRedisBus(options: RedisBusOptions): RedisBus {
  const { prefix, podId, report } = options;
  const probeName = probeChannel(prefix, podId);
  /** Subscribed rooms; each entry is made by one subscribe call (see its failure path). */
  const rooms = new Map<string, Subscription>();
  /** The same subscriptions by channel: an event's channel names its room without parsing. */
  const byChannel = new Map<string, Subscription>();
  const probes = new Map<string, (arrived: boolean) => void>();
  let listener: BusListener | undefined;
  let probeCounter = 0;
  const transport = options.transport;

  function deliver(channel: string, message: string): void {
    const subscription = byChannel.get(channel);
    if (subscription === undefined) {
      const parsed = parseChannel(prefix, channel);
      if (parsed?.kind === 'probe' && parsed.podId === podId) probes.get(message)?.(true);
      return; // else a room unsubscribed meanwhile, or not ours
    }
    const event = parseEventPayload(subscription.room, message);
    if (!event) {
      report({ type: 'malformed-event', channel });
      return;
    }
    try {
      listener?.onEvent(event);
    } catch (error) {
      // A throwing listener must not break the connection's reader for every other room.
      report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_LISTENER', error: toError(error) });
    }
  }

  function resync(): void {
    report({ type: 'resync' });
    try {
      listener?.onResync();
    } catch (error) {
      report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_LISTENER', error: toError(error) });
    }
  }

  function channels(): readonly string[] {
    return [probeName, ...[...rooms.values()].map((subscription) => subscription.channel)];
  }

  return {
    channels,
    abandonProbes() {
      for (const answer of [...probes.values()]) answer(false);
    },
    async start() {
      transport.onMessage(deliver);
      transport.onRestored(resync);
      transport.onError((error) => report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_RESUBSCRIBE', error }));
      await transport.subscribe([probeName]);
    },
    listen(next) {
      if (listener) throw listenerAlreadySet();
      listener = next;
    },
    async subscribe(list) {
      const wanted: string[] = [];
      const added: Array<readonly [string, Subscription]> = [];
      for (const room of list) {
        let subscription = rooms.get(room);
        if (subscription === undefined) {
          subscription = { room, channel: roomKeys(prefix, room).channel };
          rooms.set(room, subscription);
          byChannel.set(subscription.channel, subscription);
          added.push([room, subscription]);
        }
        wanted.push(subscription.channel);
      }
      // Subscribing a known room again is a no-op in Redis but still waits for its reply,
      // so the promise means "delivered from now on" even for a concurrent duplicate call.
      try {
        await transport.subscribe(wanted);
      } catch (error) {
        // The caller counts this room as not subscribed: left in `rooms`, it would be
        // resubscribed on every reconnect and never unsubscribed. Only the entries this call
        // made go: if an unsubscribe and a newer subscribe replaced one meanwhile, that one
        // is another caller's, and removing it would leave its room deaf.
        for (const [room, subscription] of added) {
          if (rooms.get(room) !== subscription) continue;
          rooms.delete(room);
          byChannel.delete(subscription.channel);
        }
        throw error;
      }
    },
    async unsubscribe(list) {
      const gone: string[] = [];
      for (const room of list) {
        const subscription = rooms.get(room);
        if (subscription === undefined) continue;
        rooms.delete(room);
        byChannel.delete(subscription.channel);
        gone.push(subscription.channel);
      }
      await transport.unsubscribe(gone);
    },
    probe(timeoutMs) {
      const token = `${++probeCounter}`;
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          probes.delete(token);
          resolve(false);
        }, timeoutMs);
        probes.set(token, (arrived) => {
          clearTimeout(timer);
          probes.delete(token);
          resolve(arrived);
        });
        transport
          .publish(probeName, token)
          .catch((error: unknown) => {
            report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_PROBE', error: toError(error) });
            clearTimeout(timer);
            probes.delete(token);
            resolve(false);
          });
      });
    },
  };
}
