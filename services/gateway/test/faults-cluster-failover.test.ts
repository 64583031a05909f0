/**
 * Redis Cluster failover under two gateways: 3 masters with a replica each; rooms spread
 * over the masters with clients of every dialect on both pods, writing. The master holding
 * some of the rooms is SIGKILLed mid-traffic; its replica is promoted. Then:
 * - its rooms resync on every pod (each pod re-reads its rooms) and keep working: sets are
 *   stored on the new master and cross pods again, in those rooms and the others;
 * - no client is left on old values: every view equals what the cluster now holds, even
 *   where the promoted replica had not received the last writes (asynchronous replication);
 * - every client stays connected, the store counts each, and both pods are ready again.
 */
import { createRedisEngine, type RoomEngine } from '@cloudvars/rooms';
import { afterAll, expect, it } from 'vitest';
import { clusterServing, masterOf, roleOf, startRedisCluster, syncedReplicasOf, type RedisClusterProcesses } from '@cloudvars/test-support/redis-cluster';
import { testPrefix } from '@cloudvars/test-support/redis-engines';
import { hasBinary } from '@cloudvars/test-support/redis-server';
import { loadConfig } from '../src/config.ts';
import { engineLimits } from '../src/engine.ts';
import { until } from './support/client.ts';
import { metricValue } from './support/conformance.ts';
import { startGateway, type RunningGateway } from './support/gateway.ts';
import { httpStatus } from './support/processes.ts';
import { startTraffic, type Traffic } from './support/traffic.ts';

const SETTINGS = { LEASE_TTL_MS: '4000' };
const COMMAND_TIMEOUT_MS = 1_000;
/** Rooms on the master that dies, and on each other master. */
const ROOMS_ON_VICTIM = 2;
const ROOMS_ON_OTHERS = 1;

let cluster: RedisClusterProcesses | undefined;
const pods: RunningGateway[] = [];
const engines: RoomEngine[] = [];
const traffics: Traffic[] = [];

afterAll(async () => {
  for (const traffic of traffics) traffic.close();
  await Promise.all(pods.map((pod) => pod.stop()));
  await Promise.all(engines.map((engine) => engine.close()));
  await cluster?.destroy();
});

/** The pod's resyncs so far (cloudvars_resyncs_total). */
async function resyncs(pod: RunningGateway): Promise<number> {
  const text = await pod.metrics.registry.metrics();
  return metricValue(text, 'cloudvars_resyncs_total') ?? 0;
}

it.skipIf(!hasBinary('redis-server') || !hasBinary('redis-cli'))(
  'a master killed mid-traffic: its replica takes over, its rooms resync on every pod and keep working, no client is left on old values',
  async () => {
    cluster = await startRedisCluster(3, 1);
    const { url } = cluster;
    const prefix = testPrefix();
    for (const i of [0, 1]) {
      pods.push(
        await startGateway({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix, ...SETTINGS }, (config) => {
          const engine = createRedisEngine({
            url,
            keyPrefix: prefix,
            limits: engineLimits(config),
            podId: `failover${i}`,
            commandTimeoutMs: COMMAND_TIMEOUT_MS,
          });
          engines.push(engine);
          return engine;
        }),
      );
    }
    const observer = createRedisEngine({
      url,
      keyPrefix: prefix,
      limits: engineLimits(loadConfig(SETTINGS)),
      podId: 'observer',
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    engines.push(observer);
    for (const pod of pods) await until(async () => (await httpStatus(pod.httpUrl, '/readyz')) === 200, { timeoutMs: 20_000, what: 'both pods ready' });

    // Rooms on every master, more of them on the one that will die.
    const victim = await masterOf(cluster, `${prefix}{failover-0}`);
    const chosen: string[] = [];
    const perMaster = new Map<number, number>();
    for (let i = 0; chosen.length < ROOMS_ON_VICTIM + 2 * ROOMS_ON_OTHERS && i < 200; i++) {
      const room = `failover-${i}`;
      const port = (await masterOf(cluster, `${prefix}{${room}}`)).port;
      const wanted = port === victim.port ? ROOMS_ON_VICTIM : ROOMS_ON_OTHERS;
      if ((perMaster.get(port) ?? 0) >= wanted) continue;
      perMaster.set(port, (perMaster.get(port) ?? 0) + 1);
      chosen.push(room);
    }
    expect(chosen).toHaveLength(ROOMS_ON_VICTIM + 2 * ROOMS_ON_OTHERS);
    const onVictim = new Set<string>();
    for (const room of chosen) if ((await masterOf(cluster, `${prefix}{${room}}`)).port === victim.port) onVictim.add(room);

    // 200 ms between a client's sets: 4 rooms x 6 clients, 120 sets a second in all.
    for (const room of chosen) traffics.push(await startTraffic({ room, urls: pods.map((pod) => pod.url), store: observer.store, intervalMs: 200 }));
    await until(async () => (await syncedReplicasOf(cluster!, victim)).length > 0, { timeoutMs: 20_000, what: 'a replica of the victim in sync' });
    for (const traffic of traffics) traffic.start();
    const seqOf = async (room: string): Promise<number> => (await observer.store.snapshot(room).catch(() => null))?.seq ?? -1;
    for (const room of chosen) await until(async () => (await seqOf(room)) >= 20, { what: `traffic stored in ${room}` });
    const before = await Promise.all(pods.map(resyncs));

    await victim.stop('SIGKILL');
    const live = cluster.nodes.filter((node) => node !== victim);
    // The survivors notice within the node timeout (1 s), then the replica is elected.
    const victimRoom = `${prefix}{${[...onVictim][0]}}`;
    await until(async () => (await masterOf(cluster!, victimRoom)).port !== victim.port && (await clusterServing(live.map((node) => node.port))), {
      timeoutMs: 30_000,
      what: 'a replica promoted and every slot served',
    });
    expect(await roleOf(await masterOf(cluster, victimRoom))).toBe('master');

    // Every pod re-read its rooms after losing the master's shard.
    for (const [i, pod] of pods.entries()) {
      await until(async () => (await resyncs(pod)) > (before[i] ?? 0), { timeoutMs: 20_000, what: `pod ${i} to resync its rooms` });
    }
    // The rooms of the dead master keep working: new sets stored there, crossing pods.
    for (const traffic of traffics.filter((t) => onVictim.has(t.room))) {
      const seq = await seqOf(traffic.room);
      await until(async () => (await seqOf(traffic.room)) >= seq + 20, { timeoutMs: 20_000, what: `sets stored in ${traffic.room} on the promoted replica` });
      const [a, b] = [traffic.clients.find((c) => c.pod === 0)!, traffic.clients.find((c) => c.pod === 1)!];
      await traffic.crosses(a, b, 15_000);
      await traffic.crosses(b, a, 15_000);
    }
    for (const traffic of traffics) await traffic.stop();
    for (const traffic of traffics) await traffic.converged();
    expect(traffics.flatMap((traffic) => traffic.closed())).toEqual([]);
    for (const traffic of traffics) {
      await until(async () => (await observer.store.memberCount(traffic.room).catch(() => -1)) === traffic.clients.length, {
        timeoutMs: 15_000,
        what: `${traffic.clients.length} live members of ${traffic.room}`,
      });
    }
    for (const pod of pods) await until(async () => (await httpStatus(pod.httpUrl, '/readyz')) === 200, { timeoutMs: 20_000, what: 'both pods ready again' });
  },
  150_000,
);
