import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxBinary, redisServerBinary, startCluster, type Cluster, type GatewayProcess } from '../src/cluster.ts';
import { repoPath } from '../src/paths.ts';
import { until } from '../src/until.ts';
import { RoomClient } from './support/room-client.ts';

/**
 * The process-level cluster (what docker-compose.yml runs: Redis with AOF, three gateway
 * processes, nginx with deploy/nginx/cloudvars.conf) survives a rolling restart: one
 * gateway is SIGTERMed mid-traffic, its clients are closed with 1012, come back through
 * the load balancer to the other gateways, and every client converges on the writers'
 * last values without a variable ever going backwards.
 */
const missing = [nginxBinary() ? null : 'nginx (Debian package nginx)', redisServerBinary() ? null : 'redis-server'].filter((m): m is string => m !== null);
if (missing.length > 0) console.warn(`drain-e2e skipped: ${missing.join(', ')} not installed`);

const CLIENTS = 9;
const WRITE_INTERVAL_MS = 100; // 10 sets/s per client, a third of the rate limit

async function connections(gateway: GatewayProcess): Promise<number> {
  const text = await (await fetch(gateway.metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith('cloudvars_connections'));
  return Number(line?.split(' ').at(-1) ?? NaN);
}

describe.skipIf(missing.length > 0)('process-level cluster behind nginx', () => {
  let cluster: Cluster;
  const clients: RoomClient[] = [];
  let writer: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    cluster = await startCluster({
      gateways: 3,
      env: { LOG_LEVEL: 'warn', DRAIN_DELAY_MS: '300', DRAIN_BATCH_SIZE: '2', SHUTDOWN_TIMEOUT_MS: '10000' },
      startTimeoutMs: 45_000,
    });
  }, 60_000);

  afterAll(async () => {
    clearInterval(writer);
    for (const c of clients) c.close();
    await cluster?.stop();
  }, 60_000);

  it('passes the helm test handshake script through the load balancer', () => {
    const result = spawnSync(process.execPath, ['--experimental-websocket', repoPath('k8s', 'helm', 'cloudvars', 'files', 'handshake-test.js')], {
      env: { ...process.env, CLOUDVARS_URL: cluster.url },
      encoding: 'utf8',
      timeout: 25_000,
    });
    expect(result.stdout + result.stderr).toContain('OK: handshake and set delivered');
    expect(result.status).toBe(0);
  });

  it('a SIGTERMed gateway closes its clients with 1012; they reconnect through the LB and every client converges', async () => {
    const room = `drain-${Date.now().toString(36)}`;
    const variables = Array.from({ length: CLIENTS }, (_, i) => `☁ v${i + 1}`);
    for (let i = 0; i < CLIENTS; i++) {
      const client = new RoomClient({ url: cluster.url, room, username: `drainer${i + 1}`, variables, own: variables[i] ?? '' });
      clients.push(client);
      client.connect();
    }
    // Exactly one client created the room; every other one got a snapshot.
    await until('all but the room creator received a snapshot', () => clients.filter((c) => c.snapshots === 1).length === CLIENTS - 1, {
      timeoutMs: 15_000,
    });
    for (const c of clients) if (c.snapshots === 0) c.markJoined();

    const before = await Promise.all(cluster.gateways.map(connections));
    expect(before.reduce((a, b) => a + b, 0)).toBe(CLIENTS);
    const victimIndex = before.indexOf(Math.max(...before));
    const victim = cluster.gateways[victimIndex];
    if (victim === undefined) throw new Error('no victim');
    const onVictim = before[victimIndex] ?? 0;
    expect(onVictim).toBeGreaterThan(0);

    writer = setInterval(() => {
      for (const c of clients) c.writeNext();
    }, WRITE_INTERVAL_MS);
    await until('every client wrote 5 sets', () => clients.every((c) => c.lastSent >= 5), { timeoutMs: 15_000 });

    victim.process.kill('SIGTERM');
    expect(await victim.exited).toBe(0);

    const moved = (): RoomClient[] => clients.filter((c) => c.closeCodes.length > 0);
    await until(
      'moved clients rejoined and wrote 5 sets on their new gateway',
      () => moved().length === onVictim && moved().every((c) => c.isJoined && c.setsSinceJoin >= 5),
      { timeoutMs: 20_000 },
    );
    clearInterval(writer);

    // Convergence: every client sees every writer's last value.
    const expected = new Map(clients.map((c, i) => [variables[i] ?? '', c.lastSent]));
    await until(
      'every client converged on the last written values',
      () => clients.every((c) => [...expected].every(([name, value]) => c.view.get(name) === value)),
      { timeoutMs: 10_000 },
    );

    // The store agrees: a new client's snapshot holds the same values.
    const observer = new RoomClient({ url: cluster.url, room, username: 'observer', variables, own: variables[0] ?? '' });
    observer.connect();
    await until('observer snapshot', () => observer.snapshots === 1, { timeoutMs: 10_000 });
    observer.close();
    for (const [name, value] of expected) if (name !== variables[0]) expect(observer.view.get(name)).toBe(value);
    expect(observer.lastSent).toBe(expected.get(variables[0] ?? ''));

    for (const c of clients) {
      expect(c.error).toBeUndefined();
      expect(c.backwards).toEqual([]);
      // 1012 from the drain; 4002 only while our old lease was being released.
      for (const code of c.closeCodes) expect([1012, 4002]).toContain(code);
    }
    expect(moved().length).toBe(onVictim);
    for (const c of moved()) expect(c.closeCodes[0]).toBe(1012);
    // The survivors carry everyone now, and the load balancer still answers.
    const survivors = cluster.gateways.filter((g) => g !== victim);
    await until('the survivors hold every client (the observer has left)', async () => {
      const counts = await Promise.all(survivors.map(connections));
      return counts.reduce((a, b) => a + b, 0) === CLIENTS;
    });
    expect((await fetch(`${cluster.httpUrl}/readyz`)).status).toBe(200);
  }, 90_000);
});
