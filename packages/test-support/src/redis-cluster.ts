/**
 * A Redis Cluster of `masters` redis-server processes on free loopback ports (and, if asked,
 * `replicas` replicas of each master), created with `redis-cli --cluster create`, for the
 * Cluster contract run and fault tests (a master killed, its replica promoted).
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
  /** Every node, masters first (as created; a failover changes who is master: see `roleOf`). */
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
    (info) => info?.get('cluster_state') === 'ok' && info.get('cluster_slots_ok') === '16384' && info.get('cluster_known_nodes') === String(ports.length),
  );
}

/**
 * Every given node answers and says the cluster is ok with every slot served; unlike
 * `clusterHealthy`, nodes it knows but that are not listed (a killed master) may be down.
 */
export async function clusterServing(ports: readonly number[]): Promise<boolean> {
  const infos = await Promise.all(ports.map((port) => clusterInfo(port).catch(() => undefined)));
  return infos.every((info) => info?.get('cluster_state') === 'ok' && info.get('cluster_slots_ok') === '16384');
}

export async function startRedisCluster(masters = 3, replicas = 0): Promise<RedisClusterProcesses> {
  const nodes = await Promise.all(
    Array.from({ length: masters * (1 + replicas) }, () =>
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
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes']);
    await until(() => clusterHealthy(nodes.map((node) => node.port)), { timeoutMs: 20_000, what: 'cluster_state:ok on every node' });
    return { nodes, url: `redis-cluster://${addresses.join(',')}`, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** A node that answers (the first may have been killed by a fault test). */
async function anyLiveNode(cluster: RedisClusterProcesses): Promise<Redis> {
  for (const node of cluster.nodes) {
    const client = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch {
      client.disconnect(); // this node is down: ask the next
    }
  }
  throw new Error('no node of the cluster answers');
}

/** The node process that serves `key`'s slot (asked with CLUSTER KEYSLOT and CLUSTER SLOTS). */
export async function masterOf(cluster: RedisClusterProcesses, key: string): Promise<RedisProcess> {
  const client = await anyLiveNode(cluster);
  try {
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

/**
 * The replicas of `master` (by CLUSTER NODES on a live node) whose replication link is up
 * and whose copy has caught up with the master's offset: a failover now loses nothing the
 * master had acknowledged before this call.
 */
export async function syncedReplicasOf(cluster: RedisClusterProcesses, master: RedisProcess): Promise<RedisProcess[]> {
  const client = await anyLiveNode(cluster);
  try {
    const lines = String(await client.cluster('NODES'))
      .split('\n')
      .filter((line) => line.length > 0);
    const idOf = (port: number): string | undefined => lines.find((line) => line.split(' ')[1]?.startsWith(`127.0.0.1:${port}@`))?.split(' ')[0];
    const masterId = idOf(master.port);
    const replicaPorts = lines
      .map((line) => line.split(' '))
      .filter((fields) => fields[2]?.includes('slave') && fields[3] === masterId)
      .map((fields) => Number(fields[1]?.split(':')[1]?.split('@')[0]));
    const admin = await adminOf(master);
    try {
      const masterOffset = Number(/master_repl_offset:(\d+)/.exec(String(await admin.info('replication')))?.[1] ?? -1);
      const synced: RedisProcess[] = [];
      for (const port of replicaPorts) {
        const node = cluster.nodes.find((candidate) => candidate.port === port);
        if (!node) continue;
        const replica = await adminOf(node);
        try {
          const info = String(await replica.info('replication'));
          const offset = Number(/slave_repl_offset:(\d+)/.exec(info)?.[1] ?? -1);
          if (info.includes('master_link_status:up') && offset >= masterOffset) synced.push(node);
        } finally {
          replica.disconnect();
        }
      }
      return synced;
    } finally {
      admin.disconnect();
    }
  } finally {
    client.disconnect();
  }
}

/** 'master' or 'replica' as the node itself says (ROLE), or 'down' when it does not answer. */
export async function roleOf(node: RedisProcess): Promise<'master' | 'replica' | 'down'> {
  const client = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const role = (await client.call('ROLE')) as unknown[];
    return role[0] === 'master' ? 'master' : 'replica';
  } catch {
    return 'down'; // refused or reset: the node is not running
  } finally {
    client.disconnect();
  }
}
