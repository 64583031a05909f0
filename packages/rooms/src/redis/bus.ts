/**
 * RoomBus on Redis pub/sub, in two parts built in order: the `BusInbox` (which channels this
 * pod listens on, and what arrives on them), then the transport that feeds it, then the
 * `RedisBus` that subscribes and publishes through that transport. Events are parsed and
 * handed to the listener synchronously in the reader's message callback, never awaited
 * (invariant 8). The probe travels the same path as events: a pod-private channel on the
 * same subscriber (or shard), and so do the pod channels outside the rooms (the policy notices).
 */
import type { BusListener, EngineStatusEvent, RoomBus } from '../ports.ts';
import { listenerAlreadySet, toError } from '../errors.ts';
import { parseChannel, probeChannel, roomKeys } from './keys.ts';
import { parseEventPayloads } from './replies.ts';
import type { PubSubTransport, TransportReceiver } from './transport.ts';

/** A room's subscription, as one object per subscribe that made it (compared by identity). */
interface Subscription {
  readonly room: string;
  readonly channel: string;
}

/** What `BusInbox.add` did: the channels to subscribe, and the entries this call made. */
interface Added {
  readonly channels: readonly string[];
  readonly made: readonly Subscription[];
}

/** A channel every pod listens on outside the rooms (policy notices), with its receiver. */
export interface PodChannel {
  readonly channel: string;
  /** Called synchronously from the connection's reader, like a room's events. */
  message(payload: string): void;
}

export interface BusInboxOptions {
  readonly prefix: string;
  readonly podId: string;
  readonly report: (event: EngineStatusEvent) => void;
  /** Subscribed at start with the probe, and again after every reconnect. */
  readonly podChannels: readonly PodChannel[];
}

/**
 * The receiving side: the subscribed rooms, the pending probes, the one listener and the pod
 * channels. It is the transport's receiver, so it exists before the transport does.
 */
export class BusInbox implements TransportReceiver {
  readonly probeChannel: string;
  /** Subscribed rooms; each entry is made by one subscribe call (see `forgetFailed`). */
  private readonly rooms = new Map<string, Subscription>();
  /** The same subscriptions by channel: an event's channel names its room without parsing. */
  private readonly byChannel = new Map<string, Subscription>();
  /** Probes on their way, by token: each answers true when it arrives, false otherwise. */
  private readonly probes = new Map<string, (arrived: boolean) => void>();
  private listener: BusListener | undefined;
  private readonly podChannels: ReadonlyMap<string, PodChannel>;

  constructor(private readonly options: BusInboxOptions) {
    this.probeChannel = probeChannel(options.prefix, options.podId);
    this.podChannels = new Map(options.podChannels.map((pod) => [pod.channel, pod]));
  }

  listen(listener: BusListener): void {
    if (this.listener) throw listenerAlreadySet();
    this.listener = listener;
  }

  /** The channels this pod listens on whatever its rooms: the probe and the pod channels. */
  fixedChannels(): readonly string[] {
    return [this.probeChannel, ...this.podChannels.keys()];
  }

  channels(): readonly string[] {
    return [...this.fixedChannels(), ...[...this.rooms.values()].map((subscription) => subscription.channel)];
  }

  message(channel: string, message: string): void {
    const subscription = this.byChannel.get(channel);
    if (subscription === undefined) {
      const pod = this.podChannels.get(channel);
      if (pod !== undefined) {
        pod.message(message);
        return;
      }
      const parsed = parseChannel(this.options.prefix, channel);
      if (parsed?.kind === 'probe' && parsed.podId === this.options.podId) this.probes.get(message)?.(true);
      return; // else a room unsubscribed meanwhile, or not ours
    }
    const events = parseEventPayloads(subscription.room, message);
    if (!events) {
      this.options.report({ type: 'malformed-event', channel });
      return;
    }
    for (const event of events) {
      try {
        this.listener?.onEvent(event);
      } catch (error) {
        // A throwing listener must not break the connection's reader for every other room.
        this.listenerFailed(error);
      }
    }
  }

  restored(): void {
    this.options.report({ type: 'resync' });
    try {
      this.listener?.onResync();
    } catch (error) {
      this.listenerFailed(error);
    }
  }

  failed(error: Error): void {
    this.options.report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_RESUBSCRIBE', error });
  }

  private listenerFailed(error: unknown): void {
    this.options.report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_LISTENER', error: toError(error) });
  }

  /** Registers the rooms not yet known; a known room's channel is still listed to subscribe. */
  add(rooms: readonly string[]): Added {
    const channels: string[] = [];
    const made: Subscription[] = [];
    for (const room of rooms) {
      let subscription = this.rooms.get(room);
      if (subscription === undefined) {
        subscription = { room, channel: roomKeys(this.options.prefix, room).channel };
        this.rooms.set(room, subscription);
        this.byChannel.set(subscription.channel, subscription);
        made.push(subscription);
      }
      channels.push(subscription.channel);
    }
    return { channels, made };
  }

  /**
   * Forgets the entries a failed subscribe made: the caller counts their rooms as not
   * subscribed, and left here they would be resubscribed on every reconnect and never
   * unsubscribed. Only those entries go: if an unsubscribe and a newer subscribe replaced one
   * meanwhile, that one is another caller's, and removing it would leave its room deaf.
   */
  forgetFailed(made: readonly Subscription[]): void {
    for (const subscription of made) {
      if (this.rooms.get(subscription.room) !== subscription) continue;
      this.rooms.delete(subscription.room);
      this.byChannel.delete(subscription.channel);
    }
  }

  /** Forgets the rooms; answers the channels of those that were subscribed. */
  remove(rooms: readonly string[]): string[] {
    const gone: string[] = [];
    for (const room of rooms) {
      const subscription = this.rooms.get(room);
      if (subscription === undefined) continue;
      this.rooms.delete(room);
      this.byChannel.delete(subscription.channel);
      gone.push(subscription.channel);
    }
    return gone;
  }

  /** Waits for the probe `token` to arrive: true when it does within `timeoutMs`, else false. */
  expectProbe(token: string, timeoutMs: number): { readonly arrived: Promise<boolean>; readonly cancel: () => void } {
    let answer: (arrived: boolean) => void = () => undefined;
    const arrived = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.probes.delete(token);
        resolve(false);
      }, timeoutMs);
      answer = (value) => {
        clearTimeout(timer);
        this.probes.delete(token);
        resolve(value);
      };
      this.probes.set(token, answer);
    });
    return { arrived, cancel: () => answer(false) };
  }

  /** Answers every pending probe with false (at close), instead of leaving it to its timeout. */
  abandonProbes(): void {
    for (const answer of [...this.probes.values()]) answer(false);
  }
}

/** The sending side: subscribes, unsubscribes and probes through the transport. */
export class RedisBus implements RoomBus {
  private probeCounter = 0;

  constructor(
    private readonly inbox: BusInbox,
    private readonly transport: PubSubTransport,
    private readonly report: (event: EngineStatusEvent) => void,
  ) {}

  /** Subscribes the probe and the pod channels; resolves once probes and notices can arrive. */
  async start(): Promise<void> {
    await this.transport.subscribe(this.inbox.fixedChannels());
  }

  listen(listener: BusListener): void {
    this.inbox.listen(listener);
  }

  async subscribe(rooms: readonly string[]): Promise<void> {
    const added = this.inbox.add(rooms);
    // Subscribing a known room again is a no-op in Redis but still waits for its reply,
    // so the promise means "delivered from now on" even for a concurrent duplicate call.
    try {
      await this.transport.subscribe(added.channels);
    } catch (error) {
      this.inbox.forgetFailed(added.made);
      throw error;
    }
  }

  async unsubscribe(rooms: readonly string[]): Promise<void> {
    await this.transport.unsubscribe(this.inbox.remove(rooms));
  }

  probe(timeoutMs: number): Promise<boolean> {
    const token = `${++this.probeCounter}`;
    const probe = this.inbox.expectProbe(token, timeoutMs);
    this.transport.publish(this.inbox.probeChannel, token).catch((error: unknown) => {
      this.report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_PROBE', error: toError(error) });
      probe.cancel();
    });
    return probe.arrived;
  }
}
