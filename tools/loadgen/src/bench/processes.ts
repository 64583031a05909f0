/**
 * The processes a benchmark measures: redis-server and gateways, started as children on
 * free 127.0.0.1 ports, stopped with SIGTERM (SIGKILL after a bound). Readiness is awaited
 * by polling a real probe (PING, /readyz) with a deadline, never by sleeping a guess.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { freePort } from '@cloudvars/test-support/free-port';

export class BenchProcessError extends Error {
  readonly code = 'CV_ERR_BENCH_PROCESS';
}

const READY_TIMEOUT_MS = 30_000;
const POLL_MS = 50;
const PROBE_TIMEOUT_MS = 1000;
const STOP_TIMEOUT_MS = 15_000;

export interface Managed {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Last lines of the child's output, for error messages. */
  readonly output: string[];
}

/** The gateway's METRICS_PORT defaults to its PORT plus this (gateway-metrics.ts reads it there). */
const METRICS_PORT_OFFSET = 10_000;

/** True if 127.0.0.1:`port` can be bound now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A free port whose default metrics port (+10,000) is a port and free too: the kernel hands
 * out ports up to 60999, and a gateway on one above 55535 would refuse to start.
 */
async function freeGatewayPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + METRICS_PORT_OFFSET <= 65_535 && (await bindable(port + METRICS_PORT_OFFSET))) return port;
  }
}

const START_ATTEMPTS = 5;

/**
 * True when a child exited because its port was taken after the probe found it free: between
 * the probe's close and the child's listen, any process on the machine may bind it (a test
 * run's other workers do).
 */
function lostItsPort(error: unknown): boolean {
  return error instanceof BenchProcessError && /EADDRINUSE|Address already in use/.test(error.message);
}

/** `start` on fresh free ports until one start keeps its port (at most START_ATTEMPTS). */
async function onFreePorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !lostItsPort(error)) throw error;
    }
  }
}

/** `taskset -c <cpus>` prefix: taskset execs the command, so the pid stays the process's. */
function pinned(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
}

/** Pins this process (every thread) and the children it starts from now on. */
export function pinSelf(cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

function launch(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, cpus?: string): Managed {
  const [cmd, argv] = pinned(cpus, command, args);
  const child = spawn(cmd, argv, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new BenchProcessError(`${name}: could not start ${command}`);
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(
      ...chunk
        .toString()
        .split('\n')
        .filter((l) => l.length > 0),
    );
    if (output.length > 40) output.splice(0, output.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { name, pid: child.pid, child, output };
}

/** Polls `probe` until it holds; fails at once when the child exits, with its output. */
async function untilReady(name: string, m: Managed, probe: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (m.child.exitCode !== null) {
      throw new BenchProcessError(`${name} exited with ${m.child.exitCode}:\n${m.output.join('\n')}`);
    }
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new BenchProcessError(`${name} not ready within ${READY_TIMEOUT_MS} ms:\n${m.output.join('\n')}`);
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    sock.setTimeout(1000, () => sock.destroy());
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        sock.destroy();
        resolve(buf.startsWith('+PONG'));
      }
    });
    sock.on('error', () => resolve(false));
    sock.on('close', () => resolve(false));
  });
}

export function startRedis(cwd: string, cpus?: string): Promise<Managed & { url: string }> {
  return onFreePorts(() => startRedisOn(cwd, cpus));
}

async function startRedisOn(cwd: string, cpus?: string): Promise<Managed & { url: string }> {
  const port = await freePort();
  // Benchmarks measure the gateway and the Redis work per set, not disk: no AOF, no RDB.
  const m = launch('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], process.env, cwd, cpus);
  await untilReady('redis-server', m, () => redisPing(port));
  return { ...m, url: `redis://127.0.0.1:${port}` };
}

export interface GatewayOptions {
  readonly repoRoot: string;
  readonly redisUrl?: string;
  readonly podId: string;
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeFlags?: readonly string[];
  /** CPU list for taskset (e.g. "0"): the gateway gets a core of its own. */
  readonly cpus?: string;
  /** Gateway settings to try (e.g. FLUSH_INTERVAL_MS), applied over the bench limits. */
  readonly extraEnv?: Readonly<Record<string, string>>;
}

/** Limits raised so the generator's 127.0.0.1 clients are never refused for being many. */
const BENCH_LIMITS: NodeJS.ProcessEnv = {
  MAX_CONNECTIONS: '30000',
  MAX_CONNECTIONS_PER_ADDRESS: '1000000',
  // Every bench client comes from 127.0.0.1.
  MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND: '1000000',
  MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE: '1000000',
  // One address for the whole bench: no per-address bound on what its sets store (0: none).
  MAX_STORED_BYTES_PER_ADDRESS: '0',
  MAX_CLIENTS_PER_ROOM: '100',
  MAX_ROOMS: '1000000',
  LOG_LEVEL: 'warn',
  DRAIN_DELAY_MS: '0',
  DRAIN_BATCH_SIZE: '5000',
  SHUTDOWN_TIMEOUT_MS: '10000',
};

/**
 * A gateway on a free port (its metrics port at the default offset), ready. `choosePort` is
 * the probe; tests hand in one that answers a taken port first.
 */
export function startGateway(o: GatewayOptions, choosePort: () => Promise<number> = freeGatewayPort): Promise<Managed & { url: string }> {
  return onFreePorts(async () => startGatewayOn(o, await choosePort()));
}

async function startGatewayOn(o: GatewayOptions, port: number): Promise<Managed & { url: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...BENCH_LIMITS, ...o.extraEnv, PORT: String(port), HOST: '127.0.0.1', POD_ID: o.podId };
  delete env.REDIS_URL;
  // The metrics port is PORT's default offset (probed free with it), unless the caller names one.
  if (o.extraEnv?.METRICS_PORT === undefined) delete env.METRICS_PORT;
  if (o.redisUrl) {
    env.REDIS_URL = o.redisUrl;
    env.REDIS_KEY_PREFIX = `bench-${o.podId.split('-')[0] ?? 'x'}:`;
  }
  // Run as this module runs: from the build (`pnpm bench`) the compiled gateway, as in
  // production; from the sources (tests) the gateway's sources under tsx.
  const main = import.meta.url.endsWith('.ts') ? ['--conditions=source', '--import', 'tsx', 'services/gateway/src/main.ts'] : ['services/gateway/dist/main.js'];
  const args = [...(o.nodeFlags ?? []), ...main];
  const m = launch(`gateway ${o.podId}`, process.execPath, args, env, o.repoRoot, o.cpus);
  await untilReady(m.name, m, async () => {
    try {
      // Bounded: a port another process took may accept and never answer.
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      return res.status === 200;
    } catch {
      // Not listening yet: the probe's answer is "not ready", the loop retries until the deadline.
      return false;
    }
  });
  return { ...m, url: `ws://127.0.0.1:${port}/` };
}

/** SIGTERM, then SIGKILL if it has not exited within the bound; resolves with the exit code. */
export function stop(m: Managed): Promise<number | null> {
  if (m.child.exitCode !== null || m.child.signalCode !== null) return Promise.resolve(m.child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => m.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    m.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    m.child.kill('SIGTERM');
  });
}
