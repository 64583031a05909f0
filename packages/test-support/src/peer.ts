/**
 * TurboWarp's cloud-server, the incumbent ("the peer"), run beside ours for tests and
 * benchmarks. It lives untouched in `../shared/peers/turbowarp-cloud-server` beside the
 * checkout (CI lays it there too). Each start copies its sources into a fresh temporary
 * folder (it writes `logs/` under its working directory) and links a `node_modules`
 * installed once with `npm ci --omit=dev` and cached under the repo's `.tmp/`, keyed by the
 * hash of its package-lock.json, so repeated runs do not reinstall.
 *
 * The peer has no listen-address setting (it binds every interface). To keep it on
 * loopback without touching its code, it runs with a small preload (`--require`) that
 * makes its HTTP server listen on 127.0.0.1 and reports the port the OS picked for
 * `PORT=0` over the IPC channel, so there is no free-port race.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

/** The checkout's root (this file is packages/test-support/src/peer.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the peers live: `../shared/peers/` beside the checkout. */
export const PEERS_DIR = resolve(REPO_ROOT, '../shared/peers');

export const TURBOWARP_PEER = 'turbowarp-cloud-server';

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_TAIL_CHARS = 8_000;

export class PeerError extends Error {
  readonly code = 'CV_ERR_TEST_PEER';
  constructor(message: string) {
    super(message);
    this.name = 'PeerError';
  }
}

export interface RunningPeer {
  /** `ws://127.0.0.1:<port>/`: the peer serves WebSockets on every path. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The temporary folder it runs in (its `logs/` are there until `stop`). */
  readonly dir: string;
  /** The last few KB of its stdout and stderr (empty with `output: 'ignore'`). */
  output(): string;
  /** SIGTERM, wait for the exit (SIGKILL after 5 s), remove the folder. Idempotent. */
  stop(): Promise<void>;
}

export interface PeerOptions {
  /** Folder of the peers (default `../shared/peers` beside the checkout). */
  readonly peersDir?: string;
  /** Extra environment (e.g. `NODE_ENV: 'production'` for info-level logs in a benchmark). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * `tail` (default): keep the last few KB of its console for error messages.
   * `ignore`: discard it (benchmarks: no pipe to drain in the measuring process).
   */
  readonly output?: 'tail' | 'ignore';
  /** Keep its temporary folder after `stop` (to read its logs). */
  readonly keepDir?: boolean;
}

/** The peer's package as upstream ships it is in `dir`. */
function hasPeerSource(dir: string): boolean {
  return existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'index.js'));
}

/**
 * Whether tests against the peer can run: its source is beside the checkout. A clone
 * without `../shared` skips them with a warning, unless CLOUDVARS_REQUIRE_PEER=1 (CI sets
 * it), where a missing peer fails them with peerSourceDir's message instead.
 */
export function peerPresent(peersDir: string = PEERS_DIR, name: string = TURBOWARP_PEER): boolean {
  if (process.env.CLOUDVARS_REQUIRE_PEER === '1') return true;
  const dir = join(peersDir, name);
  const present = hasPeerSource(dir);
  if (!present)
    console.warn(`skipping tests against TurboWarp's server: it is not at ${dir} (see shared/peers/README.md; CLOUDVARS_REQUIRE_PEER=1 makes this a failure)`);
  return present;
}

/** The peer's source folder; throws a PeerError that says what to do when it is missing. */
export function peerSourceDir(peersDir: string = PEERS_DIR, name: string = TURBOWARP_PEER): string {
  const dir = join(peersDir, name);
  if (!hasPeerSource(dir)) {
    throw new PeerError(
      `the peer server is not at ${dir}: these tests expect shared/peers/ beside the checkout ` +
        `(${resolve(peersDir, '..')}), holding ${name} as upstream ships it (see shared/peers/README.md)`,
    );
  }
  return dir;
}

/**
 * Copies `from` to `to` and makes the copy writable by its owner: shared/ may be laid out
 * without write bits (CI), and a read-only copy could not be removed by a non-root user.
 */
function copyWritable(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
  const walk = (path: string): void => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    chmodSync(path, stat.mode | (stat.isDirectory() ? 0o700 : 0o600));
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(to);
}

/**
 * The peer's production dependencies, installed once per package-lock.json under
 * `.tmp/peers/<name>-<hash>/node_modules`. Concurrent callers (two vitest workers) each
 * install into their own folder and rename it into place; the loser uses the winner's.
 */
export function installedPeerModules(sourceDir: string, name: string = TURBOWARP_PEER): string {
  const lock = readFileSync(join(sourceDir, 'package-lock.json'));
  const hash = createHash('sha256').update(lock).digest('hex').slice(0, 16);
  const cacheRoot = join(REPO_ROOT, '.tmp', 'peers');
  const target = join(cacheRoot, `${name}-${hash}`);
  const modules = join(target, 'node_modules');
  if (existsSync(join(target, '.installed'))) return modules;

  mkdirSync(cacheRoot, { recursive: true });
  const work = join(cacheRoot, `.install-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(work);
  try {
    copyWritable(join(sourceDir, 'package.json'), join(work, 'package.json'));
    copyWritable(join(sourceDir, 'package-lock.json'), join(work, 'package-lock.json'));
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(npm, ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    if (result.error || result.status !== 0) {
      throw new PeerError(`npm ci --omit=dev for ${name} failed (${result.error?.message ?? `exit ${result.status}`}): ${(result.stderr ?? '').slice(-2000)}`);
    }
    writeFileSync(join(work, '.installed'), new Date().toISOString() + '\n');
    try {
      renameSync(work, target);
    } catch (error) {
      // Another process installed the same lock file first: use its copy.
      if (!existsSync(join(target, '.installed'))) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return modules;
}

/**
 * Preloaded into the peer: its HTTP server listens on 127.0.0.1 (it would bind every
 * interface), and once listening the real port goes to the parent over IPC. The channel
 * stays open (idle) so that the peer exits when the process that started it dies without
 * stopping it: no orphan servers after a crashed test run.
 */
const LOOPBACK_PRELOAD = `'use strict';
const http = require('http');
const listen = http.Server.prototype.listen;
let reported = false;
http.Server.prototype.listen = function (port, ...rest) {
  const callback = typeof rest[rest.length - 1] === 'function' ? rest[rest.length - 1] : undefined;
  this.once('listening', () => {
    if (reported || typeof process.send !== 'function') return;
    reported = true;
    process.send({ listening: this.address() });
    process.once('disconnect', () => process.exit(0));
  });
  if (typeof port === 'number' || (typeof port === 'string' && /^\\d+$/.test(port))) {
    return listen.call(this, { port: Number(port), host: '127.0.0.1' }, callback);
  }
  return listen.call(this, port, ...rest);
};
`;

interface ListeningMessage {
  readonly listening: { readonly port: number; readonly address: string };
}

function isListeningMessage(message: unknown): message is ListeningMessage {
  if (typeof message !== 'object' || message === null || !('listening' in message)) return false;
  const listening = (message as { listening: unknown }).listening;
  return typeof listening === 'object' && listening !== null && typeof (listening as { port?: unknown }).port === 'number';
}

/** Resolves once a WebSocket to `url` opens (then closes it). */
function webSocketOpens(url: string): Promise<void> {
  return new Promise((resolveOpen, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.close(1000);
      resolveOpen();
    });
    socket.once('error', reject);
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

/**
 * Starts TurboWarp's cloud-server on a free 127.0.0.1 port and resolves once it accepts a
 * WebSocket connection. Its settings are its defaults (src/config.js): sends batched at 60
 * a second, rename and delete off, 128 variables and 128 clients a room.
 */
export async function startPeer(options: PeerOptions = {}): Promise<RunningPeer> {
  const sourceDir = peerSourceDir(options.peersDir);
  const modules = installedPeerModules(sourceDir);

  const dir = mkdtempSync(join(tmpdir(), 'cloudvars-peer-'));
  for (const entry of ['src', 'public', 'package.json', 'LICENSE']) {
    if (existsSync(join(sourceDir, entry))) copyWritable(join(sourceDir, entry), join(dir, entry));
  }
  symlinkSync(modules, join(dir, 'node_modules'), 'dir');
  const preload = join(dir, 'loopback-preload.cjs');
  writeFileSync(preload, LOOPBACK_PRELOAD);

  const outputMode = options.output ?? 'tail';
  const child = spawn(process.execPath, ['--require', preload, 'src/index.js'], {
    cwd: dir,
    env: { ...process.env, ...options.env, PORT: '0' },
    stdio: ['ignore', outputMode === 'ignore' ? 'ignore' : 'pipe', outputMode === 'ignore' ? 'ignore' : 'pipe', 'ipc'],
  });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await waitExit(child);
        clearTimeout(killer);
      }
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    const port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new PeerError(`the peer did not listen within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new PeerError(`the peer could not start: ${error.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new PeerError(`the peer exited (${code ?? signal}) before listening`));
      });
      child.on('message', (message) => {
        if (!isListeningMessage(message)) return;
        clearTimeout(timer);
        // The idle channel must not keep this process alive.
        child.channel?.unref();
        resolvePort(message.listening.port);
      });
    });
    const url = `ws://127.0.0.1:${port}/`;
    await webSocketOpens(url);
    if (child.pid === undefined) throw new PeerError('the peer has no pid');
    return { url, port, pid: child.pid, dir, output: () => tail, stop };
  } catch (error) {
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new PeerError(`${message}${tail ? `\n--- peer output ---\n${tail}` : ''}`);
  }
}
