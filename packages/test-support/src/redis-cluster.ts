/**
 * A Redis Cluster of `masters` redis-server processes on free loopback ports (no replicas),
 * created with `redis-cli --cluster create`, for the Cluster contract run and fault tests.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisProcess, type RedisProcess } from './redis-server.ts';
import { until } from './until.ts';

const run = promisify(execFile);

/** Short so that a stopped master is noticed quickly by its peers in fault tests. */
const NODE_TIMEOUT_MS = 1_000;

export interface RedisClusterProcesses {
  readonly nodes: readonly RedisProcess[];
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,...` */
  readonly url: string;
  destroy(): Promise<void>;
}

async function clusterInfo(port: number): Promise<Map<string, string>> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.connect();
    const text = await client.cluster('INFO');
    return new Map(
      String(text)
        .split('\r\n')
        .filter((line) => line.includes(':'))
        .map((line) => line.split(':', 2) as [string, string]),
    );
  } finally {
    client.disconnect();
  }
}

/** Every node sees a complete, healthy cluster of `count` nodes. */
export async function clusterHealthy(ports: readonly number[]): Promise<boolean> {
  const infos = await Promise.all(ports.map((port) => clusterInfo(port).catch(() => undefined)));
  return infos.every(
    (info) =>
      info?.get('cluster_state') === 'ok' &&
      info.get('cluster_slots_ok') === '16384' &&
      info.get('cluster_known_nodes') === String(ports.length),
  );
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterProcesses> {
  const nodes = await Promise.all(
    Array.from({ length: masters }, () =>
      startRedisProcess({
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(NODE_TIMEOUT_MS)],
      }),
    ),
  );
  const destroy = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.destroy()));
  };
  try {
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    await until(() => clusterHealthy(nodes.map((node) => node.port)), { timeoutMs: 20_000, what: 'cluster_state:ok on every node' });
    return { nodes, url: `redis-cluster://${addresses.join(',')}`, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** The node process that serves `key`'s slot (asked with CLUSTER KEYSLOT and CLUSTER SLOTS). */
export async function masterOf(cluster: RedisClusterProcesses, key: string): Promise<RedisProcess> {
  const first = cluster.nodes[0];
  if (!first) throw new Error('empty cluster');
  const client = new Redis({ host: '127.0.0.1', port: first.port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    const slot = Number(await client.cluster('KEYSLOT', key));
    const ranges: unknown = await client.cluster('SLOTS');
    for (const range of Array.isArray(ranges) ? ranges : []) {
      if (!Array.isArray(range)) continue;
      const [from, to, master] = range as [number, number, [string, number]];
      const node = cluster.nodes.find((candidate) => candidate.port === Number(master[1]));
      if (slot >= from && slot <= to && node) return node;
    }
    throw new Error(`no master serves slot ${slot}`);
  } finally {
    client.disconnect();
  }
}

async function adminOf(node: RedisProcess): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  return client;
}

/**
 * Moves `key`'s slot, with its keys, from its master to `target` (another master), the way
 * `redis-cli --cluster reshard` does for one slot: both masters stay healthy throughout.
 */
export async function moveSlot(cluster: RedisClusterProcesses, key: string, target: RedisProcess): Promise<void> {
  const source = await masterOf(cluster, key);
  const clients = await Promise.all(cluster.nodes.map(adminOf));
  try {
    const byPort = new Map(cluster.nodes.map((node, i) => [node.port, clients[i]]));
    const from = byPort.get(source.port);
    const to = byPort.get(target.port);
    if (!from || !to || from === to) throw new Error('moveSlot needs two different masters of the cluster');
    const slot = Number(await from.cluster('KEYSLOT', key));
    const fromId = String(await from.cluster('MYID'));
    const toId = String(await to.cluster('MYID'));
    await to.cluster('SETSLOT', slot, 'IMPORTING', fromId);
    await from.cluster('SETSLOT', slot, 'MIGRATING', toId);
    for (;;) {
      const keys = (await from.cluster('GETKEYSINSLOT', slot, 100)) as string[];
      if (keys.length === 0) break;
      await from.migrate('127.0.0.1', target.port, '', 0, 5_000, 'KEYS', ...keys);
    }
    // The new owner first, then the old, then everyone else (as redis-cli does).
    await to.cluster('SETSLOT', slot, 'NODE', toId);
    await from.cluster('SETSLOT', slot, 'NODE', toId);
    await Promise.all(clients.filter((c) => c !== from && c !== to).map((c) => c.cluster('SETSLOT', slot, 'NODE', toId)));
  } finally {
    for (const client of clients) client.disconnect();
  }
}
