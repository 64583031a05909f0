/**
 * The cluster as compose runs it: one redis-server and three gateway processes started
 * with `pnpm start` semantics, sharing one key prefix.
 */
import { createRedisEngine } from '@cloudvars/rooms';
import { expect } from 'vitest';
import { testPrefix } from '@cloudvars/test-support/redis-engines';
import { startRedisProcess } from '@cloudvars/test-support/redis-server';
import { loadConfig } from '../src/config.ts';
import { engineLimits } from '../src/engine.ts';
import { CLUSTER_SETTINGS, describeClusterBehaviour } from './support/cluster-behaviour.ts';
import { startGatewayProcess } from './support/processes.ts';

describeClusterBehaviour('three gateway processes on one redis-server', async () => {
  const redis = await startRedisProcess();
  const prefix = testPrefix();
  const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, ...CLUSTER_SETTINGS };
  const pods = await Promise.all([0, 1, 2].map((i) => startGatewayProcess({ ...env, POD_ID: `proc${i}` })));
  const observer = createRedisEngine({ url: redis.url, keyPrefix: prefix, limits: engineLimits(loadConfig(CLUSTER_SETTINGS)), podId: 'observer' });
  return {
    urls: pods.map((pod) => pod.url),
    store: observer.store,
    async stop() {
      const exits = await Promise.all(pods.map((pod) => pod.stop()));
      await observer.close();
      await redis.destroy();
      // A drained gateway exits 0 (the contract for SIGTERM).
      expect(exits).toEqual(pods.map(() => ({ code: 0, signal: null })));
    },
  };
});
