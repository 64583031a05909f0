/** Three gateways in this process sharing one Redis: pods of one cluster. */
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { startCluster } from './support/cluster.ts';
import { CLUSTER_SETTINGS, describeClusterBehaviour } from './support/cluster-behaviour.ts';

describeClusterBehaviour('three gateways in one process sharing one Redis', async () => {
  const cluster = await startCluster(redisUrl(), CLUSTER_SETTINGS);
  return { urls: cluster.pods.map((pod) => pod.url), store: cluster.pods[0]!.engine.store, stop: () => cluster.stop() };
});
