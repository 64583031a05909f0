/**
 * Our gateway as a target of the Scratch 3 tests written for the peer and us alike
 * (test-support scratch/target.ts): one node with rooms in memory, and two gateways sharing
 * Redis with client i on pod i mod 2, so a test's clients meet across pods.
 */
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { podsInTurn, type ScratchTarget } from '@cloudvars/test-support/scratch/target';
import { startCluster } from './cluster.ts';
import { startGateway, type TestEnv } from './gateway.ts';

export function gatewayTargets(env: TestEnv = {}): readonly ScratchTarget[] {
  return [
    {
      name: 'our gateway, one node in memory',
      async start() {
        const gateway = await startGateway(env);
        return { url: () => gateway.url, stop: () => gateway.stop() };
      },
    },
    {
      name: 'our gateway, two pods sharing Redis',
      async start() {
        const cluster = await startCluster(redisUrl(), env, 2);
        return podsInTurn(
          cluster.pods.map((pod) => pod.url),
          () => cluster.stop(),
        );
      },
    },
  ];
}
