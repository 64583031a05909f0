/**
 * The pub/sub path under the bus, for one Redis (standalone or Sentinel: SUBSCRIBE/PUBLISH
 * on a dedicated connection) or a Cluster (SSUBSCRIBE/SPUBLISH on each room's shard).
 * `onRestored` fires once the subscriber came back from a loss and every channel subscribed
 * before it is subscribed again: events published while it was away may be lost.
 */
import type { Cluster, Redis } from 'ioredis';
import { toError } from '../errors.ts';

export interface PubSubTransport {
  subscribe(channels: readonly string[]): Promise<void>;
  unsubscribe(channels: readonly string[]): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  /** Called synchronously from the connection's reader for every message. */
  onMessage(handler: (channel: string, message: string) => void): void;
  onRestored(handler: () => void): void;
  /** Failed resubscriptions and reader errors, for onStatus. */
  onError(handler: (error: Error) => void): void;
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
export function singleTransport(store: Redis, subscriber: Redis, active: () => readonly string[]): PubSubTransport {
  let restored: () => void = () => undefined;
  let failed: (error: Error) => void = () => undefined;
  let readyOnce = false;
  subscriber.on('ready', () => {
    // Also on the first `ready`: a SUBSCRIBE queued before Redis was up may have failed.
    const first = !readyOnce;
    readyOnce = true;
    const channels = active();
    const resubscribed = channels.length > 0 ? subscriber.subscribe(...channels) : Promise.resolve();
    // A failure here means the connection dropped again: the next `ready` retries.
    resubscribed.then(
      () => {
        if (!first) restored();
      },
      (cause: unknown) => failed(toError(cause)),
    );
  });
  return {
    async subscribe(channels) {
      if (channels.length > 0) await subscriber.subscribe(...channels);
    },
    async unsubscribe(channels) {
      if (channels.length > 0) await subscriber.unsubscribe(...channels);
    },
    async publish(channel, message) {
      await store.publish(channel, message);
    },
    onMessage(handler) {
      subscriber.on('message', handler);
    },
    onRestored(handler) {
      restored = handler;
    },
    onError(handler) {
      failed = handler;
    },
    isReady() {
      return store.status === 'ready' && subscriber.status === 'ready';
    },
    repair() {
      // Not ready means it is already reconnecting (or closed): nothing to force.
      if (subscriber.status !== 'ready') return false;
      subscriber.disconnect(true);
      return true;
    },
  };
}

/**
 * Cluster with `shardedSubscribers`: ioredis keeps one subscriber per master and, after a
 * topology change or a lost subscriber, recreates them, resubscribes and emits
 * `subscribersReady`. SSUBSCRIBE takes channels of one slot per call, so each channel goes
 * in its own call (written back to back on the shard's connection).
 */
export function clusterTransport(cluster: Cluster, active: () => readonly string[]): PubSubTransport {
  let restored: () => void = () => undefined;
  let failed: (error: Error) => void = () => undefined;
  // ioredis emits `subscribersReady` only after a reset that changed something: a replaced
  // or added shard subscriber, the whole client reconnecting, or a slot that moved between
  // healthy masters (which emits no '-subscriber'). Each may have lost events, so each one
  // resyncs, except those before the client's first `ready` (the initial topology, seen
  // twice during connect): no SSUBSCRIBE can have been confirmed before it.
  let readyOnce = false;
  cluster.once('ready', () => {
    readyOnce = true;
  });
  cluster.on('subscribersReady', () => {
    if (!readyOnce) return;
    // ioredis resubscribes without telling when it is done. Unsubscribing and subscribing
    // each channel again, back to back on its shard's connection, tells us (the SSUBSCRIBE
    // reply) and keeps ioredis's channel list at one entry per channel (a second SSUBSCRIBE
    // alone would be listed twice, growing the list at every recovery). An event published
    // in between is lost, as during the outage itself: the resync that follows reads it.
    const again = active().map((channel) => Promise.all([cluster.sunsubscribe(channel), cluster.ssubscribe(channel)]));
    Promise.all(again).then(
      () => restored(),
      (cause: unknown) => failed(toError(cause)),
    );
  });
  return {
    async subscribe(channels) {
      await Promise.all(channels.map((channel) => cluster.ssubscribe(channel)));
    },
    async unsubscribe(channels) {
      await Promise.all(channels.map((channel) => cluster.sunsubscribe(channel)));
    },
    async publish(channel, message) {
      await cluster.spublish(channel, message);
    },
    onMessage(handler) {
      cluster.on('smessage', handler);
    },
    onRestored(handler) {
      restored = handler;
    },
    onError(handler) {
      failed = handler;
    },
    isReady() {
      return cluster.status === 'ready';
    },
    repair() {
      // The shard subscribers are ioredis's own: a dead one is found by keepAlive or a
      // '-node', and replaced by ioredis. Reconnecting the whole Cluster client would also
      // drop the store's connections, so nothing is forced here (README "Known limits").
      return false;
    },
  };
}
