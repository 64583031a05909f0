/**
 * Back-pressure from the store (MAX_STORE_CALLS_IN_FLIGHT): while Redis does not answer, a
 * client's sets stop being read once the pod has the limit in flight, instead of piling up
 * in the pod; once Redis answers, the rest are read and stored, and nothing is lost.
 */
import { encodeClientSet } from '@cloudvars/protocol';
import { createRedisEngine } from '@cloudvars/rooms';
import { testPrefix } from '@cloudvars/test-support/redis-engines';
import { startRedisProcess, type RedisProcess } from '@cloudvars/test-support/redis-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { engineLimits } from '../src/engine.ts';
import { TestClient, until } from './support/client.ts';
import { cloud, metricValue } from './support/conformance.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

const LIMIT = 5;
const SETS = 2_000;
/** 1 KB a frame: 2 MB in all, far more than one read of the socket takes in. */
const value = (n: number): string => `${n}`.padStart(1_000, '0');

let redis: RedisProcess;
let gateway: RunningGateway;

beforeAll(async () => {
  redis = await startRedisProcess();
  gateway = await startGateway(
    { MAX_STORE_CALLS_IN_FLIGHT: String(LIMIT), RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '1000000', MAX_VALUE_LENGTH: '2000' },
    // Calls wait as long as the test freezes Redis, rather than time out.
    (config) => createRedisEngine({ url: redis.url, keyPrefix: testPrefix(), limits: engineLimits(config), commandTimeoutMs: 60_000 }),
  );
});

afterAll(async () => {
  redis.signal('SIGCONT');
  await gateway.stop();
  await gateway.engine.close();
  await redis.destroy();
});

async function metric(name: string): Promise<number> {
  return metricValue(await (await fetch(gateway.metricsUrl)).text(), name) ?? 0;
}

it('stops reading a client while the store has the limit in flight, then stores everything it sent', async () => {
  const writer = await TestClient.join(gateway.url, 'pressure', 'writer', { [cloud('v')]: '0' });
  await membersAre(gateway, 'pressure', 1);
  redis.signal('SIGSTOP');
  for (let n = 1; n <= SETS; n++) writer.send(encodeClientSet('seed', cloud('v'), value(n)));

  await until(async () => (await metric('cloudvars_read_pauses_total')) >= 1, { what: 'the writer paused' });
  const inFlight = await metric('cloudvars_store_calls_in_flight');
  const read = await metric('cloudvars_messages_in_total');
  expect(inFlight).toBeGreaterThanOrEqual(LIMIT);
  // What one read of the socket held, not the 2 MB sent (the handshake counts too).
  expect(read).toBeLessThan(SETS / 4);

  redis.signal('SIGCONT');
  await until(async () => (await gateway.engine.store.snapshot('pressure'))?.variables[0]?.[1] === value(SETS), { what: 'the last set stored' });
  expect(await metric('cloudvars_messages_in_total')).toBe(SETS + 1);
  expect(await metric('cloudvars_sets_total')).toBe(SETS);
  await until(async () => (await metric('cloudvars_store_calls_in_flight')) === 0, { what: 'every call answered' });
  expect(writer.closed).toBeNull();
  writer.close();
});
