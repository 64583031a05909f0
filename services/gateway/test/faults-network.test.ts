/**
 * The network between a gateway and Redis goes bad, not the processes: two gateways each
 * reach one Redis through a TCP proxy of their own (test-support tcp-proxy.ts), and pod 0's
 * link gets added latency, a black hole, resets, a half-open link (each direction) or a slow
 * link, under traffic from clients of every dialect on both pods. For each fault:
 * - /readyz tells the truth: pod 0 is not ready while its Redis path is broken (and ready
 *   while it is only slow), ready again after; pod 1, whose link is fine, stays ready and
 *   its clients keep exchanging sets throughout;
 * - no set that Redis applied is lost to a client that stays connected, and every client
 *   converges on the stored values once the link is back (read from Redis directly);
 * - no gateway needs a restart: sets cross pods again and the store counts every client.
 * Engine timeouts are short (commandTimeoutMs, LEASE_TTL_MS) so a fault's effects show in
 * seconds; /readyz's probe runs every 5 s (readiness.ts), which bounds how fast it can flip.
 */
import { createRedisEngine, type RoomEngine } from '@cloudvars/rooms';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, testPrefix } from '@cloudvars/test-support/redis-engines';
import { hasBinary, startRedisProcess, type RedisProcess } from '@cloudvars/test-support/redis-server';
import { startTcpProxy, type Direction, type TcpProxy } from '@cloudvars/test-support/tcp-proxy';
import { loadConfig } from '../src/config.ts';
import { engineLimits } from '../src/engine.ts';
import { until } from './support/client.ts';
import { metricValue } from './support/conformance.ts';
import { startGateway, type RunningGateway } from './support/gateway.ts';
import { httpStatus } from './support/processes.ts';
import { startTraffic, type Traffic } from './support/traffic.ts';

const SETTINGS = { LEASE_TTL_MS: '4000' };
/** A command without an answer fails after this; a store call after twice this. */
const COMMAND_TIMEOUT_MS = 1_000;
/** Bounds for readiness changes: a probe every 5 s that may take 5 s, and reconnect backoff. */
const UNREADY_TIMEOUT_MS = 25_000;
const READY_TIMEOUT_MS = 30_000;
/** Sets each side sends while the link is broken, before it is healed. */
const SETS_DURING_FAULT = 20;

interface Net {
  readonly proxies: readonly [TcpProxy, TcpProxy];
  readonly pods: readonly [RunningGateway, RunningGateway];
  readonly traffic: Traffic;
  /** Reaches Redis directly, never through a proxy. */
  readonly observer: RoomEngine;
  /** Probe messages of pod 0 that reached Redis (seen by a direct subscriber). */
  probes(): number;
  stop(): Promise<void>;
}

let redis: RedisProcess | undefined;
let net: Net | undefined;

beforeAll(async () => {
  redis = await startRedisProcess();
});
afterEach(async () => {
  await net?.stop();
  net = undefined;
});
afterAll(async () => {
  await redis?.destroy();
});

const readyz = (pod: RunningGateway): Promise<number> => httpStatus(pod.httpUrl, '/readyz');

async function resyncs(pod: RunningGateway): Promise<number> {
  return metricValue(await pod.metrics.registry.metrics(), 'cloudvars_resyncs_total') ?? 0;
}

async function startNet(room: string): Promise<Net> {
  const server = redis as RedisProcess;
  const prefix = testPrefix();
  const proxies = [await startTcpProxy(server.port), await startTcpProxy(server.port)] as const;
  const pods: RunningGateway[] = [];
  const engines: RoomEngine[] = [];
  const env = { REDIS_KEY_PREFIX: prefix, ...SETTINGS };
  for (const [i, proxy] of proxies.entries()) {
    pods.push(
      await startGateway({ ...env, REDIS_URL: proxy.url }, (config) => {
        const engine = createRedisEngine({
          url: proxy.url,
          keyPrefix: prefix,
          limits: engineLimits(config),
          podId: `net${i}`,
          commandTimeoutMs: COMMAND_TIMEOUT_MS,
        });
        engines.push(engine);
        return engine;
      }),
    );
  }
  const observer = createRedisEngine({ url: server.url, keyPrefix: prefix, limits: engineLimits(loadConfig(SETTINGS)), podId: 'observer' });
  const witness = new Redis(server.url);
  let probes = 0;
  witness.on('message', () => {
    probes += 1;
  });
  await witness.subscribe(`${prefix}{~probe:net0}`);
  const stop = async (): Promise<void> => {
    traffic?.close();
    for (const proxy of proxies) proxy.heal();
    await Promise.all(pods.map((pod) => pod.stop()));
    await Promise.all(engines.map((engine) => engine.close()));
    await observer.close();
    witness.disconnect();
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await deletePrefix(server.url, prefix);
  };
  let traffic: Traffic | undefined;
  try {
    for (const pod of pods) await until(async () => (await readyz(pod)) === 200, { timeoutMs: READY_TIMEOUT_MS, what: 'both pods ready' });
    traffic = await startTraffic({ room, urls: pods.map((pod) => pod.url), store: observer.store });
  } catch (error) {
    await stop();
    throw error;
  }
  return { proxies, pods: pods as unknown as [RunningGateway, RunningGateway], traffic, observer, probes: () => probes, stop };
}

/** Polls /readyz of both pods until stopped: every answer, in order. */
function sampleReadiness(pods: readonly RunningGateway[]): { readonly samples: number[][]; stop(): Promise<void> } {
  const samples: number[][] = pods.map(() => []);
  let running = true;
  const loop = (async () => {
    while (running) {
      const statuses = await Promise.all(pods.map(readyz));
      statuses.forEach((status, i) => samples[i]?.push(status));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** What must hold once the link is back: traffic crosses pods, views converge, nobody was dropped, leases are whole. */
async function recovered(n: Net): Promise<void> {
  const { traffic, pods } = n;
  await until(async () => (await readyz(pods[0])) === 200, { timeoutMs: READY_TIMEOUT_MS, what: 'pod 0 ready again' });
  const onPod = (pod: number) => traffic.clients.filter((c) => c.pod === pod);
  // Sets cross pods again, in both directions, for every dialect.
  for (const from of onPod(0)) await traffic.crosses(from, onPod(1)[0]!, 15_000);
  for (const from of onPod(1)) await traffic.crosses(from, onPod(0)[0]!, 15_000);
  await traffic.stop();
  await traffic.converged();
  expect(traffic.closed()).toEqual([]);
  // Nobody was shown a value the store had already replaced (a lost set coming back).
  expect(traffic.outOfOrder()).toEqual([]);
  // The store counts every client again (leases lapsed during the fault are renewed).
  await until(async () => (await n.observer.store.memberCount(traffic.room)) === traffic.clients.length, {
    timeoutMs: 15_000,
    what: `${traffic.clients.length} live members of ${traffic.room}`,
  });
  expect(await Promise.all(pods.map((pod) => httpStatus(pod.httpUrl, '/healthz')))).toEqual([200, 200]);
  expect(await Promise.all(pods.map(readyz))).toEqual([200, 200]);
}

/**
 * A fault that breaks pod 0's Redis path: pod 0 turns unready while pod 1 stays ready and
 * its clients keep exchanging sets; both sides keep sending; then the link heals.
 */
async function breakAndHeal(n: Net, breakLink: (proxy: TcpProxy) => void): Promise<void> {
  const { traffic, pods, proxies } = n;
  traffic.start();
  await until(async () => ((await n.observer.store.snapshot(traffic.room))?.seq ?? 0) >= 30, { what: 'traffic stored before the fault' });
  const readiness = sampleReadiness(pods);
  const resyncsBefore = await resyncs(pods[0]);
  breakLink(proxies[0]);
  await until(async () => (await readyz(pods[0])) === 503, { timeoutMs: UNREADY_TIMEOUT_MS, what: 'pod 0 to turn unready' });
  const [sent0, sent1] = [traffic.sent(0), traffic.sent(1)];
  // Pod 1's clients still reach each other while pod 0 is cut off.
  const onPod1 = traffic.clients.filter((c) => c.pod === 1);
  await traffic.crosses(onPod1[0]!, onPod1[1]!);
  await until(() => traffic.sent(0) >= sent0 + SETS_DURING_FAULT && traffic.sent(1) >= sent1 + SETS_DURING_FAULT, {
    what: 'sets on both sides during the fault',
  });
  expect(await readyz(pods[0])).toBe(503);
  // The fault did bite: bytes wait in the proxy, or links were reset.
  const stats = proxies[0].stats();
  expect(stats.held.up + stats.held.down + stats.accepted - stats.links).toBeGreaterThan(0);
  proxies[0].heal();
  await readiness.stop();
  // Pod 1's link was fine all along: it never said otherwise.
  expect(readiness.samples[1]?.filter((status) => status !== 200)).toEqual([]);
  await recovered(n);
  // Events may have been lost while the path was broken: pod 0 re-read its rooms.
  expect(await resyncs(pods[0])).toBeGreaterThan(resyncsBefore);
}

describe.skipIf(!hasBinary('redis-server'))('network faults between a gateway and Redis (through a TCP proxy)', () => {
  it('added latency: both pods stay ready and sets cross pods; a spike beyond the command timeout loses no applied set', async () => {
    net = await startNet('net-latency');
    const { traffic, pods, proxies } = net;
    traffic.start();
    await until(async () => ((await net!.observer.store.snapshot(traffic.room))?.seq ?? 0) >= 30, { what: 'traffic stored first' });
    const readiness = sampleReadiness(pods);
    proxies[0].latency(150);
    // At least two probes of pod 0 ran through the slow link: readiness judged it.
    const probes = net.probes();
    await until(() => net!.probes() >= probes + 2, { timeoutMs: 20_000, what: 'two probes through the slow link' });
    const [a, b] = [traffic.clients.find((c) => c.pod === 0)!, traffic.clients.find((c) => c.pod === 1)!];
    await traffic.crosses(a, b);
    await traffic.crosses(b, a);
    await readiness.stop();
    expect(readiness.samples.map((s) => s.filter((status) => status !== 200))).toEqual([[], []]);

    // Beyond the command timeout: sets time out at the gateway, yet Redis applies them later.
    proxies[0].latency(COMMAND_TIMEOUT_MS * 1.5);
    const sent = traffic.sent(0);
    await until(() => traffic.sent(0) >= sent + SETS_DURING_FAULT, { what: 'sets sent during the spike' });
    proxies[0].heal();
    await recovered(net);
  }, 120_000);

  it('black hole (bytes stop both ways, sockets stay open)', async () => {
    net = await startNet('net-blackhole');
    await breakAndHeal(net, (proxy) => proxy.blackhole());
  }, 120_000);

  it('resets (every link, and every new one until healed)', async () => {
    net = await startNet('net-reset');
    await breakAndHeal(net, (proxy) => {
      proxy.reset({ untilHealed: true });
    });
  }, 120_000);

  it.each<Direction>(['up', 'down'])(
    'half open: the %s direction stops, the other flows',
    async (direction) => {
      net = await startNet(`net-half-${direction}`);
      await breakAndHeal(net, (proxy) => proxy.halfOpen(direction));
    },
    120_000,
  );

  it('slow link (1 KB/s each way, less than the traffic needs)', async () => {
    net = await startNet('net-slow');
    await breakAndHeal(net, (proxy) => proxy.throttle(1_000));
  }, 120_000);
});
