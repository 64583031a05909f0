/**
 * The pub/sub path under the bus, for one Redis (standalone or Sentinel: SUBSCRIBE/PUBLISH
 * on a dedicated connection) or a Cluster (SSUBSCRIBE/SPUBLISH on each room's shard).
 * A transport is given its receiver when it is built and tells it everything from then on:
 * no handler is set afterwards.
 */
import type { Cluster, Redis } from 'ioredis';
import { toError } from '../errors.ts';

/** The bus's receiving side, as the transport calls it. */
export interface TransportReceiver {
  /** Every channel to subscribe again after a reconnect (rooms and the probe). */
  channels(): readonly string[];
  /** Called synchronously from the connection's reader for every message. */
  message(channel: string, message: string): void;
  /**
   * The subscriber came back from a loss and every channel subscribed before it is
   * subscribed again: events published while it was away may be lost.
   */
  restored(): void;
  /** A failed resubscription (the connection dropped again; the next `ready` retries). */
  failed(error: Error): void;
}

export interface PubSubTransport {
  subscribe(channels: readonly string[]): Promise<void>;
  unsubscribe(channels: readonly string[]): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  isReady(): boolean;
  /**
   * Drops the subscriber connection(s) so they reconnect, resubscribe and report a restore:
   * for a connection that looks open but no longer delivers (half-open, lost by Redis).
   * False when there was nothing this transport can do.
   */
  repair(): boolean;
}

/**
 * Standalone and Sentinel. ioredis's own resubscription is off (connect.ts): on every
 * `ready` the transport resubscribes all channels in one SUBSCRIBE and, after the first,
 * reports the restore, so the bus knows the exact moment it may resync.
 */
export class SingleTransport implements PubSubTransport {
  private readyOnce = false;

  constructor(
    private readonly store: Redis,
    private readonly subscriber: Redis,
    private readonly receiver: TransportReceiver,
  ) {
    subscriber.on('ready', () => this.resubscribe());
    subscriber.on('message', (channel: string, message: string) => receiver.message(channel, message));
  }

  private resubscribe(): void {
    // Also on the first `ready`: a SUBSCRIBE queued before Redis was up may have failed.
    const first = !this.readyOnce;
    this.readyOnce = true;
    const channels = this.receiver.channels();
    const resubscribed = channels.length > 0 ? this.subscriber.subscribe(...channels) : Promise.resolve();
    resubscribed.then(
      () => {
        if (!first) this.receiver.restored();
      },
      (cause: unknown) => this.receiver.failed(toError(cause)),
    );
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    if (channels.length > 0) await this.subscriber.subscribe(...channels);
  }

  async unsubscribe(channels: readonly string[]): Promise<void> {
    if (channels.length > 0) await this.subscriber.unsubscribe(...channels);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.store.publish(channel, message);
  }

  isReady(): boolean {
    return this.store.status === 'ready' && this.subscriber.status === 'ready';
  }

  repair(): boolean {
    // Not ready means it is already reconnecting (or closed): nothing to force.
    if (this.subscriber.status !== 'ready') return false;
    this.subscriber.disconnect(true);
    return true;
  }
}

/**
 * Cluster with `shardedSubscribers`: ioredis keeps one subscriber per master and, after a
 * topology change or a lost subscriber, recreates them, resubscribes and emits
 * `subscribersReady`. SSUBSCRIBE takes channels of one slot per call, so each channel goes
 * in its own call (written back to back on the shard's connection).
 */
export class ClusterTransport implements PubSubTransport {
  // ioredis emits `subscribersReady` only after a reset that changed something: a replaced
  // or added shard subscriber, the whole client reconnecting, or a slot that moved between
  // healthy masters (which emits no '-subscriber'). Each may have lost events, so each one
  // resyncs, except those before the client's first `ready` (the initial topology, seen
  // twice during connect): no SSUBSCRIBE can have been confirmed before it.
  private readyOnce = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly receiver: TransportReceiver,
  ) {
    cluster.once('ready', () => {
      this.readyOnce = true;
    });
    cluster.on('subscribersReady', () => this.resubscribe());
    cluster.on('smessage', (channel: string, message: string) => receiver.message(channel, message));
  }

  private resubscribe(): void {
    if (!this.readyOnce) return;
    // ioredis resubscribes without telling when it is done. Unsubscribing and subscribing
    // each channel again, back to back on its shard's connection, tells us (the SSUBSCRIBE
    // reply) and keeps ioredis's channel list at one entry per channel (a second SSUBSCRIBE
    // alone would be listed twice, growing the list at every recovery). An event published
    // in between is lost, as during the outage itself: the resync that follows reads it.
    const cluster = this.cluster;
    const again = this.receiver.channels().map((channel) => Promise.all([cluster.sunsubscribe(channel), cluster.ssubscribe(channel)]));
    Promise.all(again).then(
      () => this.receiver.restored(),
      (cause: unknown) => this.receiver.failed(toError(cause)),
    );
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    await Promise.all(channels.map((channel) => this.cluster.ssubscribe(channel)));
  }

  async unsubscribe(channels: readonly string[]): Promise<void> {
    await Promise.all(channels.map((channel) => this.cluster.sunsubscribe(channel)));
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.cluster.spublish(channel, message);
  }

  isReady(): boolean {
    return this.cluster.status === 'ready';
  }

  repair(): boolean {
    // The shard subscribers are ioredis's own: a dead one is found by keepAlive or a
    // '-node', and replaced by ioredis. Reconnecting the whole Cluster client would also
    // drop the store's connections, so nothing is forced here (README "Known limits").
    return false;
  }
}
