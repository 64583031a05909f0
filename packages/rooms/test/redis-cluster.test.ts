import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRoomEngine } from './contract/describe-room-engine.ts';
import { Recorder, freshRoom, joinRequest, roomyLimits } from './contract/harness.ts';
import { clusterHealthy, masterOf, moveSlot, startRedisCluster, type RedisClusterProcesses } from '@cloudvars/test-support/redis-cluster';
import { redisPods } from '@cloudvars/test-support/redis-engines';
import { hasBinary } from '@cloudvars/test-support/redis-server';
import { until } from '@cloudvars/test-support/until';
import { createClients } from '../src/redis/connect.ts';
import { roomKeys } from '../src/redis/keys.ts';
import { ClusterTransport } from '../src/redis/transport.ts';
import { parseRedisUrl } from '../src/redis/url.ts';

/** The same contract on a 3-master Redis Cluster: per-room scripts on one slot, SSUBSCRIBE/SPUBLISH. */
// Needs redis-server and redis-cli (`pnpm test` installs them); skipped, visibly, without.
describe.skipIf(!hasBinary('redis-server') || !hasBinary('redis-cli'))('redis cluster (3 masters on loopback)', () => {
  let cluster: RedisClusterProcesses;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  });
  afterAll(async () => {
    await cluster.destroy();
  });

  describeRoomEngine('redis cluster', ({ limits, now }) => redisPods(cluster.url, { limits, now }));

  it('delivers events of rooms on every master through sharded pub/sub', async () => {
    const made = await redisPods(cluster.url, { limits: roomyLimits });
    const [a, b] = made.engines;
    const recorder = new Recorder();
    b.bus.listen(recorder);
    try {
      // 24 rooms land on all three masters with near certainty (16384 slots in 3 ranges).
      const rooms = Array.from({ length: 24 }, () => freshRoom('spread'));
      await b.bus.subscribe(rooms);
      for (const room of rooms) await a.store.join(joinRequest(room, 'c1', 'alice'));
      await Promise.all(rooms.map((room) => a.store.set(room, 'c1', 'x', room)));
      await until(() => rooms.every((room) => recorder.of(room).length === 1), { what: 'one event per room' });
      expect(rooms.map((room) => recorder.of(room)[0]?.value)).toEqual(rooms);
      expect(await b.bus.probe(2_000)).toBe(true);
      expect(recorder.resyncs).toBe(0); // nothing was lost, so no resync
    } finally {
      await made.cleanup();
    }
  });

  // A slot moving between healthy masters: ioredis re-homes the shard subscription and emits
  // only `subscribersReady` (no '-subscriber'); events published meanwhile may be lost.
  it("resyncs the listener after the room's slot moved to another healthy master", async () => {
    const made = await redisPods(cluster.url, { limits: roomyLimits });
    const [a, b] = made.engines;
    const recorder = new Recorder();
    b.bus.listen(recorder);
    const room = freshRoom('moved');
    try {
      await a.store.join(joinRequest(room, 'c1', 'alice'));
      await b.bus.subscribe([room]);
      const key = `${made.prefix}{${room}}`;
      const owner = await masterOf(cluster, key);
      const target = cluster.nodes.find((node) => node !== owner);
      if (!target) throw new Error('a 3-master cluster has another master');
      await moveSlot(cluster, key, target);
      // The subscribing pod sends no command that could meet MOVED: it learns of the move
      // from its periodic slot refresh.
      await until(() => recorder.resyncs >= 1, { timeoutMs: 15_000, what: 'onResync after the slot moved' });
      await a.store.set(room, 'c1', 'x', 'moved');
      await until(() => recorder.of(room).some((event) => event.value === 'moved'), { what: 'an event from the new owner' });
    } finally {
      await made.cleanup();
    }
  });

  it('keeps one entry per channel in the Cluster client after repeated subscriber recoveries', async () => {
    const clients = createClients(parseRedisUrl(cluster.url), 'dedupe', 5_000);
    if (clients.kind !== 'cluster') throw new Error('a redis-cluster:// URL makes a Cluster client');
    const client = clients.cluster;
    const channels = ['a', 'b', 'c'].map((room) => roomKeys('dedupe:', freshRoom(room)).channel);
    let restores = 0;
    const transport = new ClusterTransport(client, {
      channels: () => channels,
      message: () => undefined,
      restored: () => {
        restores += 1;
      },
      failed: () => undefined,
    });
    try {
      await until(() => client.status === 'ready', { what: 'the Cluster client ready' });
      await transport.subscribe(channels);
      for (let recovery = 1; recovery <= 3; recovery++) {
        client.emit('subscribersReady');
        await until(() => restores === recovery, { what: `recovery ${recovery} confirmed` });
      }
      // ioredis 5's sharded subscriber group lists every SSUBSCRIBE it sent per slot.
      const group = (client as unknown as { shardedSubscribers: { channels: Map<number, string[]> } }).shardedSubscribers;
      expect([...group.channels.values()].flat().sort()).toEqual([...channels].sort());
    } finally {
      client.disconnect();
    }
  });

  // Fault, last because it disturbs the cluster: the master holding a room restarts empty.
  it('resyncs the listener once the shard is back, and the room works again', async () => {
    const made = await redisPods(cluster.url, { limits: roomyLimits });
    const [a, b] = made.engines;
    const recorder = new Recorder();
    b.bus.listen(recorder);
    const room = freshRoom('fault');
    try {
      await a.store.join(joinRequest(room, 'c1', 'alice'));
      await b.bus.subscribe([room]);
      await a.store.set(room, 'c1', 'x', 'before');
      await until(() => recorder.of(room).length === 1, { what: 'the event before the restart' });

      const owner = await masterOf(cluster, `${made.prefix}{${room}}`);
      await owner.restart();
      await until(() => clusterHealthy(cluster.nodes.map((node) => node.port)), { timeoutMs: 20_000, what: 'the cluster to heal' });
      await until(() => recorder.resyncs >= 1, { timeoutMs: 20_000, what: 'onResync after the master restart' });

      // The restarted master lost the room (no persistence): a join recreates it. Commands
      // may fail until every client has the new topology.
      const retried: unknown[] = [];
      await until(
        async () => {
          const joined = await a.store.join(joinRequest(room, 'c2', 'bob')).catch((error: unknown) => {
            retried.push(error);
            return undefined;
          });
          return joined?.ok === true;
        },
        { timeoutMs: 10_000, what: 'a join accepted after the restart' },
      );
      await a.store.set(room, 'c2', 'x', 'after');
      await until(() => recorder.of(room).some((event) => event.value === 'after'), { what: 'the event after the restart' });
      expect(await b.bus.probe(2_000)).toBe(true);
    } finally {
      await made.cleanup();
    }
  });
});
