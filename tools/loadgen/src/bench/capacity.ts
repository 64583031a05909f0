/**
 * A capacity model from measured unit costs: how much one gateway pod and one Redis can
 * carry, and where a single Redis stops being enough (Redis Cluster takes over).
 * Node and Redis each run their hot path on one core, so a process saturates at one core;
 * HEADROOM keeps planning below that, where latency is still flat.
 */
import type { ScenarioOutcome } from './results.ts';
import type { WsFloor } from './ws-floor.ts';

const HEADROOM = 0.7;

const k = (n: number): string => (n >= 10_000 ? `${Math.round(n / 1000).toLocaleString('en-US')}k` : Math.round(n).toLocaleString('en-US'));

function find(outcomes: readonly ScenarioOutcome[], id: string): ScenarioOutcome | undefined {
  return outcomes.find((o) => o.scenario.id === id);
}

export function capacityModel(outcomes: readonly ScenarioOutcome[], floor: WsFloor): string {
  const lines: string[] = ['## Capacity model (from this run)', ''];
  const a = find(outcomes, 'a')?.report.load;
  const b = find(outcomes, 'b')?.report.load;
  const d = find(outcomes, 'd')?.report.load;
  const c = find(outcomes, 'c')?.report.idle;
  const cpuA = a?.gatewayCpuUsPerDelivery ?? null;
  const cpuB = b?.gatewayCpuUsPerDelivery ?? null;
  lines.push(`Planning at ${HEADROOM * 100}% of one core per process (a gateway's JavaScript and Redis's command loop each run on one core).`, '');
  if (cpuA !== null) {
    lines.push(
      `- Gateway, rooms of 10: ${cpuA.toFixed(2)} us per delivery -> about ${k((HEADROOM * 1e6) / cpuA)} deliveries/s per pod, i.e. ${k((HEADROOM * 1e6) / cpuA / 9)} sets/s in rooms of 10.`,
    );
  }
  if (cpuB !== null) {
    lines.push(
      `- Gateway, rooms of 50: ${cpuB.toFixed(2)} us per delivery -> about ${k((HEADROOM * 1e6) / cpuB)} deliveries/s per pod, i.e. ${k((HEADROOM * 1e6) / cpuB / 49)} sets/s in rooms of 50.`,
    );
  }
  for (const [id, load] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (!load || load.gatewayCpuUsPerDelivery === null || !load.gatewayFramesOut || !load.gatewayMessagesOut) continue;
    const perFrame = load.gatewayMessagesOut / load.gatewayFramesOut;
    const floorShare = floor.usPerFrame / perFrame;
    lines.push(
      `  In (${id}) frames carried ${perFrame.toFixed(2)} updates, so the bare-send floor alone is ${floorShare.toFixed(2)} us per delivery ` +
        `(${((floorShare / load.gatewayCpuUsPerDelivery) * 100).toFixed(0)}% of the measured cost); the rest is the gateway's own work.`,
    );
  }
  if (c?.bytesPerConnection) {
    const perConn = c.bytesPerConnection;
    lines.push(
      `- Idle memory: ${(perConn / 1024).toFixed(1)} KiB per connection -> 20,000 connections (MAX_CONNECTIONS) cost ${((perConn * 20_000) / 1048576).toFixed(0)} MiB above the base RSS.`,
    );
  }
  const redisA = a?.redisCpuUsPerSet ?? null;
  const redisD = d?.redisCpuUsPerSet ?? null;
  if (redisA !== null) {
    const perPod = redisD !== null ? Math.max(0, redisD - redisA) : null;
    lines.push(
      `- Redis: ${redisA.toFixed(2)} us per set with one subscribed pod (Lua store + PUBLISH)${perPod !== null ? `, ${redisD?.toFixed(2)} us with two: about ${perPod.toFixed(2)} us more per additional pod subscribed to the room` : ''}.`,
    );
    const single = (HEADROOM * 1e6) / redisA;
    lines.push(`  One Redis carries about ${k(single)} sets/s when each room lives on one pod.`);
    if (perPod !== null) {
      for (const pods of [2, 4, 8]) {
        const cost = redisA + (pods - 1) * perPod;
        lines.push(`  With each room spread over ${pods} pods: about ${k((HEADROOM * 1e6) / cost)} sets/s.`);
      }
    }
    lines.push(
      '',
      'Where Redis Cluster takes over: when the cluster-wide set rate approaches the single-Redis figure above. ' +
        "Every room's keys and channel share one hash slot, so a Cluster spreads rooms over masters and " +
        "the capacity grows with the number of masters (the Redis engine uses SPUBLISH/SSUBSCRIBE on a Cluster, so each publish stays on its room's shard). " +
        'Gateway pods scale out independently; keep each room on few pods (affinity by room at the load balancer) ' +
        'to keep the per-pod publish cost down.',
    );
  }
  return lines.join('\n');
}
