/**
 * The process-level cluster: on this machine, without Docker, what docker-compose.yml
 * starts: redis-server with AOF (everysec), N gateway processes
 * (`node --conditions=source --import tsx services/gateway/src/main.ts`: the sources, like
 * every test) and nginx running the very same
 * load-balancer config (deploy/nginx/cloudvars.conf), all on 127.0.0.1 ports.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnChild, stopChild, type Child } from './child.ts';
import { writeNginxConfig } from './nginx-config.ts';
import { repoPath, repoRoot } from './paths.ts';
import { which } from './run.ts';
import { until } from './until.ts';

export interface ClusterOptions {
  /** Gateway processes behind the load balancer (compose runs 3). */
  gateways?: number;
  /** Use this Redis instead of starting redis-server (then set a key prefix in env). */
  redisUrl?: string;
  /** Extra gateway environment (DRAIN_DELAY_MS, LOG_LEVEL, REDIS_KEY_PREFIX, ...). */
  env?: Record<string, string>;
  /** Load-balancer port; default a free one. `pnpm cluster` uses 9080 like compose. */
  port?: number;
  /** Print every process's output with a name prefix (the CLI). */
  echo?: boolean;
  /** Start-up bound for each server. */
  startTimeoutMs?: number;
}

export interface GatewayProcess extends Child {
  readonly podId: string;
  readonly port: number;
  /** http://127.0.0.1:<port> of this gateway alone, bypassing the load balancer. */
  readonly httpUrl: string;
  /** Its GET /metrics, on the metrics port (never behind the load balancer). */
  readonly metricsUrl: string;
}

export interface Cluster {
  /** ws://127.0.0.1:<lb port>/ : what clients connect to. */
  readonly url: string;
  /** http://127.0.0.1:<lb port> */
  readonly httpUrl: string;
  readonly redisUrl: string;
  readonly gateways: readonly GatewayProcess[];
  readonly nginx: Child;
  readonly redis: Child | undefined;
  /** Output tails of every process, for a failing test's message. */
  logs(): string;
  /** SIGTERM everything (gateways drain first), wait for the exits, remove the temp dir. */
  stop(): Promise<void>;
}

export const NGINX_PATHS = ['/usr/sbin/nginx', '/usr/local/sbin/nginx'];

export function nginxBinary(): string | undefined {
  return NGINX_PATHS.find((p) => existsSync(p)) ?? which('nginx');
}

export function redisServerBinary(): string | undefined {
  return which('redis-server');
}

/** True when a Redis answers PING on 127.0.0.1:port. */
async function redisPings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes('\r\n')) socket.end();
    });
    socket.on('close', () => resolve(reply.startsWith('+PONG')));
    socket.on('error', () => resolve(false));
  });
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer();
  return response.ok;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.gateways ?? 3;
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const echo = options.echo === true;
  const nginxPath = nginxBinary();
  if (nginxPath === undefined) {
    throw Object.assign(new Error('CV_ERR_NO_NGINX: nginx not found (Debian package `nginx`)'), { code: 'CV_ERR_NO_NGINX' });
  }
  const dir = mkdtempSync(join(tmpdir(), 'cloudvars-cluster-'));
  // nginx workers run as an unprivileged user when started as root and must reach temp/.
  chmodSync(dir, 0o755);
  const started: Child[] = [];
  const stopAll = async (): Promise<void> => {
    // Gateways first (they drain and release leases in Redis), then the LB, then Redis.
    const gateways = started.filter((c) => c.name.startsWith('gateway'));
    await Promise.all(gateways.map((g) => stopChild(g, 'SIGTERM', 40_000)));
    await Promise.all(started.filter((c) => !gateways.includes(c)).map((c) => stopChild(c, 'SIGTERM', 10_000)));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    let redis: Child | undefined;
    let redisUrl = options.redisUrl;
    if (redisUrl === undefined) {
      const redisPath = redisServerBinary();
      if (redisPath === undefined) {
        throw Object.assign(new Error('CV_ERR_NO_REDIS: redis-server not found (Debian package `redis-server`)'), {
          code: 'CV_ERR_NO_REDIS',
        });
      }
      const redisPort = await freePort();
      const redisDir = join(dir, 'redis');
      mkdirSync(redisDir);
      redis = spawnChild(
        'redis',
        redisPath,
        [
          '--port',
          String(redisPort),
          '--bind',
          '127.0.0.1',
          '--dir',
          redisDir,
          '--appendonly',
          'yes',
          '--appendfsync',
          'everysec',
          '--maxmemory-policy',
          'noeviction',
          '--save',
          '',
        ],
        { echo },
      );
      started.push(redis);
      await until('redis-server answering PING', () => redisPings(redisPort), { timeoutMs });
      redisUrl = `redis://127.0.0.1:${redisPort}`;
    }

    const gateways: GatewayProcess[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const metricsPort = await freePort();
      const podId = `gateway-${i + 1}`;
      const child = spawnChild(podId, process.execPath, ['--conditions=source', '--import', 'tsx', repoPath('services', 'gateway', 'src', 'main.ts')], {
        cwd: repoRoot,
        echo,
        env: {
          PORT: String(port),
          METRICS_PORT: String(metricsPort),
          HOST: '127.0.0.1',
          REDIS_URL: redisUrl,
          POD_ID: podId,
          // The load balancer is the one trusted hop, as in docker-compose.yml.
          TRUST_PROXY: '1',
          // Every client of a local cluster comes from 127.0.0.1.
          MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND: '1000000',
          MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE: '1000000',
          ...options.env,
        },
      });
      started.push(child);
      gateways.push(Object.assign(child, { podId, port, httpUrl: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` }));
    }
    for (const g of gateways) {
      await until(
        `${g.podId} ready (/readyz 200)`,
        () => {
          if (!g.isRunning()) throw new Error(`${g.podId} exited:\n${g.output()}`);
          return httpOk(`${g.httpUrl}/readyz`);
        },
        { timeoutMs },
      );
    }

    const lbPort = options.port ?? (await freePort());
    const nginxConf = writeNginxConfig(
      dir,
      lbPort,
      gateways.map((g) => g.port),
    );
    const nginx = spawnChild('nginx', nginxPath, ['-p', dir, '-c', nginxConf, '-e', 'stderr'], { echo });
    started.push(nginx);
    const httpUrl = `http://127.0.0.1:${lbPort}`;
    await until(
      'nginx proxying to a ready gateway',
      () => {
        if (!nginx.isRunning()) throw new Error(`nginx exited:\n${nginx.output()}`);
        return httpOk(`${httpUrl}/readyz`);
      },
      { timeoutMs },
    );

    return {
      url: `ws://127.0.0.1:${lbPort}/`,
      httpUrl,
      redisUrl,
      gateways,
      nginx,
      redis,
      logs: () => started.map((c) => `--- ${c.name} (pid ${c.pid}) ---\n${c.output()}`).join('\n'),
      stop: stopAll,
    };
  } catch (err) {
    const logs = started.map((c) => `--- ${c.name} ---\n${c.output()}`).join('\n');
    await stopAll();
    throw Object.assign(new Error(`CV_ERR_CLUSTER_START: ${String(err)}\n${logs}`, { cause: err }), { code: 'CV_ERR_CLUSTER_START' });
  }
}
