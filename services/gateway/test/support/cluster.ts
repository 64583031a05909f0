/**
 * Three gateways in this process sharing one Redis under a fresh key prefix: pods of one
 * cluster, as DESIGN.md's cluster tests want them.
 */
import { createRedisEngine } from '@cloudvars/rooms';
import { deletePrefix, testPrefix } from '@cloudvars/test-support/redis-engines';
import { engineLimits } from '../../src/engine.ts';
import { startGateway, type RunningGateway, type TestEnv } from './gateway.ts';

export interface TestCluster {
  readonly pods: readonly RunningGateway[];
  readonly prefix: string;
  stop(): Promise<void>;
}

export async function startCluster(redisUrl: string, env: TestEnv = {}, size = 3): Promise<TestCluster> {
  const prefix = testPrefix();
  const pods: RunningGateway[] = [];
  for (let i = 0; i < size; i++) {
    pods.push(
      await startGateway({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, ...env }, (config) =>
        createRedisEngine({ url: redisUrl, keyPrefix: prefix, limits: engineLimits(config), podId: `pod${i}` }),
      ),
    );
  }
  return {
    pods,
    prefix,
    async stop() {
      await Promise.all(
        pods.map(async (pod) => {
          await pod.stop();
          await pod.engine.close();
        }),
      );
      await deletePrefix(redisUrl, prefix);
    },
  };
}
