/**
 * Where a conformance test sends its clients: one in-memory gateway, or two gateways (pods)
 * on one Redis, with clients handed to the pods in turn, so every row is also checked
 * across pods ("across every pod" in PROTOCOL.md's handshake table).
 */
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { startCluster } from './cluster.ts';
import { startGateway, type RunningGateway, type TestEnv } from './gateway.ts';

export type TargetKind = 'memory' | 'redis';

export const TARGET_KINDS: readonly TargetKind[] = ['memory', 'redis'];

export interface Target {
  /** The next pod's WebSocket URL (pods in turn). */
  url(): string;
  /** The first pod: its store is the cluster's, for membersAre and snapshots. */
  readonly gw: RunningGateway;
  /** Another pod of the same cluster, or null when the target is one pod. */
  readonly other: RunningGateway | null;
  stop(): Promise<void>;
}

export async function startTarget(kind: TargetKind, env: TestEnv = {}): Promise<Target> {
  if (kind === 'memory') {
    const gw = await startGateway(env);
    return { url: () => gw.url, gw, other: null, stop: () => gw.stop() };
  }
  const cluster = await startCluster(redisUrl(), env, 2);
  const [first, second] = cluster.pods as [RunningGateway, RunningGateway];
  let turn = 0;
  return { url: () => (turn++ % 2 === 0 ? first : second).url, gw: first, other: second, stop: () => cluster.stop() };
}
