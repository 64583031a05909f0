/**
 * Real Redis processes for tests: start `redis-server` (or `redis-sentinel`) on a free
 * 127.0.0.1 port with its own temp directory, stop it, restart it on the same port.
 * Used by the vitest globalSetup and by fault tests (restart, Cluster, Sentinel).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const READY_TIMEOUT_MS = 10_000;
const READY_LINE = /Ready to accept connections|Sentinel ID is/;

export class RedisProcessError extends Error {
  readonly code = 'CV_ERR_TEST_REDIS_PROCESS';
  constructor(message: string) {
    super(message);
    this.name = 'RedisProcessError';
  }
}

/** The repository's one freePort, for the callers that took it from here. */
export { freePort };

/** True when `binary` runs (e.g. `redis-server --version`). */
export function hasBinary(binary: string): boolean {
  const result = spawnSync(binary, ['--version'], { stdio: 'ignore' });
  return result.status === 0;
}

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** SIGTERM (or `signal`) and wait for the exit. Idempotent. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Sends `signal` to the running server without waiting (SIGSTOP freezes it, SIGCONT thaws it). */
  signal(signal: NodeJS.Signals): void;
  /** Start again on the same port and directory (after `stop`, or stops first). */
  restart(): Promise<void>;
  /** Stop and remove the directory. */
  destroy(): Promise<void>;
}

export interface RedisProcessOptions {
  /** `redis-server` (default) or `redis-sentinel`. */
  readonly binary?: string;
  /** Extra arguments after the defaults (`--port`, `--bind`, `--dir`, no persistence). */
  readonly args?: readonly string[];
  /** Config file text written to `<dir>/redis.conf` and passed first (Sentinel needs one). */
  readonly config?: string;
  readonly port?: number;
}

function waitReady(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (READY_LINE.test(output)) done();
    };
    const onExit = (code: number | null): void => fail(`exited with ${code ?? 'a signal'}`);
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    }
    function done(): void {
      cleanup();
      resolve();
    }
    function fail(why: string): void {
      cleanup();
      reject(new RedisProcessError(`${what} ${why}:\n${output.slice(-2000)}`));
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * Ties the server's life to this process: a shell blocked reading a pipe from us kills the
 * server when the pipe closes, which happens even when the test runner is SIGKILLed.
 */
function dieWithUs(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const watchdog = spawn('sh', ['-c', `read -r _; kill -9 ${child.pid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  child.once('exit', () => watchdog.kill('SIGKILL'));
}

async function launch(binary: string, port: number, dir: string, options: RedisProcessOptions): Promise<ChildProcess> {
  const args: string[] = [];
  if (options.config !== undefined) {
    const file = join(dir, 'redis.conf');
    writeFileSync(file, options.config);
    args.push(file);
  }
  args.push('--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no');
  args.push(...(options.args ?? []));
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  dieWithUs(child);
  await waitReady(child, `${binary} on port ${port}`);
  // Keep draining output so a chatty server never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedisProcess(options: RedisProcessOptions = {}): Promise<RedisProcess> {
  const binary = options.binary ?? 'redis-server';
  const dir = mkdtempSync(join(tmpdir(), 'cloudvars-redis-'));
  let port = options.port ?? 0;
  let child: ChildProcess | undefined;
  // A free port can be taken between the probe and the bind: try a few.
  for (let attempt = 0; child === undefined; attempt += 1) {
    const candidate = port === 0 ? await freePort() : port;
    try {
      child = await launch(binary, candidate, dir, options);
      port = candidate;
    } catch (error) {
      if (options.port !== undefined || attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  let current: ChildProcess | undefined = child;
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const running = current;
    current = undefined;
    if (!running) return;
    running.kill(signal);
    await exited(running);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    signal(signal) {
      current?.kill(signal);
    },
    async restart() {
      await stop();
      current = await launch(binary, port, dir, options);
    },
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
