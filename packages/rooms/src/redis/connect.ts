/**
 * Builds ioredis clients for a parsed REDIS_URL: one store client (auto-pipelined, scripts
 * by EVALSHA) and, outside Cluster, one subscriber connection. In Cluster the same Cluster
 * object carries both: `shardedSubscribers` gives it one subscriber per master for SSUBSCRIBE.
 */
import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisTarget } from './url.ts';

/** Commands fail after this many reconnect attempts instead of queueing for a long outage. */
const MAX_RETRIES_PER_REQUEST = 3;

/**
 * TCP keepalive after this much idle time: a peer that vanished without closing the socket
 * (host gone, half-open connection) is noticed by the kernel and the connection reconnects.
 */
const KEEP_ALIVE_MS = 10_000;

/**
 * Cluster: how often the slot map is read again. Without it ioredis learns that a slot
 * moved only when a command meets MOVED, and a pod that only subscribes to a room may
 * never send one: it would listen to the old owner for as long as that lasts.
 */
const SLOTS_REFRESH_MS = 5_000;

export type RedisClients =
  { readonly kind: 'single'; readonly store: Redis; readonly subscriber: Redis } | { readonly kind: 'cluster'; readonly cluster: Cluster };

/** After a Sentinel failover the old primary answers READONLY: reconnect and resend. */
function reconnectOnReadonly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

/**
 * A written command that gets no answer within `commandTimeoutMs` fails ("Command timed
 * out"): retries only help when the socket closes, not when Redis is frozen (SIGSTOP).
 */
function liveness(commandTimeoutMs: number): RedisOptions {
  return { commandTimeout: commandTimeoutMs, keepAlive: KEEP_ALIVE_MS };
}

function singleOptions(target: Exclude<RedisTarget, { kind: 'cluster' }>, connectionName: string, commandTimeoutMs: number): RedisOptions {
  const auth = { username: target.username, password: target.password };
  const common: RedisOptions = {
    ...auth,
    ...liveness(commandTimeoutMs),
    connectionName,
    db: target.db,
    maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
    reconnectOnError: reconnectOnReadonly,
  };
  if (target.kind === 'standalone') {
    return { ...common, host: target.node.host, port: target.node.port, ...(target.tls ? { tls: {} } : {}) };
  }
  return {
    ...common,
    sentinels: target.sentinels.map((node) => ({ host: node.host, port: node.port })),
    name: target.masterName,
    // Follow +switch-master at once instead of waiting for the old primary to drop us.
    failoverDetector: true,
  };
}

export function createClients(target: RedisTarget, podId: string, commandTimeoutMs: number): RedisClients {
  if (target.kind === 'cluster') {
    const options: ClusterOptions = {
      // Off in Cluster: with `shardedSubscribers`, ioredis 5.11 sometimes writes an
      // auto-pipelined EVAL issued during connect onto a sharded subscriber connection
      // ("Can't execute 'eval' ... in this context"; 8 of 30 fresh clients in a loopback
      // test, 0 of 30 without auto-pipelining). Commands are still written back to back.
      enableAutoPipelining: false,
      shardedSubscribers: true,
      slotsRefreshInterval: SLOTS_REFRESH_MS,
      // Commands waiting in the Cluster's own offline queue get no commandTimeout: the
      // engine's per-call deadline (engine.ts) bounds those.
      redisOptions: {
        username: target.username,
        password: target.password,
        connectionName: `cloudvars:${podId}`,
        ...liveness(commandTimeoutMs),
      },
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
    };
    return {
      kind: 'cluster',
      cluster: new Cluster(
        target.nodes.map((n) => ({ host: n.host, port: n.port })),
        options,
      ),
    };
  }
  const store = new Redis({ ...singleOptions(target, `cloudvars:${podId}:store`, commandTimeoutMs), enableAutoPipelining: true });
  // Resubscription is the bus's job: it must know when the subscription is back to resync.
  const subscriber = new Redis({ ...singleOptions(target, `cloudvars:${podId}:bus`, commandTimeoutMs), autoResubscribe: false });
  return { kind: 'single', store, subscriber };
}
