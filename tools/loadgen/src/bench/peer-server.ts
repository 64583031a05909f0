/**
 * TurboWarp's cloud-server (the peer) for `pnpm bench --peer`, started by the test suite's
 * own runner (packages/test-support/src/peer.ts: a copy of ../shared/peers in a temporary
 * folder, its npm ci cached under .tmp/peers, bound to 127.0.0.1 on a free port). That
 * runner is TypeScript outside this package's build, so the compiled bench loads it through
 * tsx; from the sources (tests) it is imported as it is.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The part of test-support's RunningPeer the bench uses. */
export interface PeerServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

interface PeerModule {
  startPeer(options: { readonly peersDir?: string; readonly env?: Readonly<Record<string, string>>; readonly output?: 'tail' | 'ignore' }): Promise<PeerServer>;
}

export interface PeerServerOptions {
  readonly repoRoot: string;
  /** Write a V8 CPU profile (as node --cpu-prof would) into this folder when the peer stops. */
  readonly profileDir?: string;
  /** NODE_OPTIONS for the peer (a preload: its runner takes no node flags), e.g. gc-on-signal.ts's. */
  readonly nodeOptions?: string;
}

/**
 * `../shared/peers` beside the checkout, or beside the main checkout when this is a git
 * worktree of it (a bench run from a clean worktree of a commit); undefined: the runner's default.
 */
export function peersDir(repoRoot: string): string | undefined {
  const beside = resolve(repoRoot, '..', 'shared', 'peers');
  if (existsSync(beside)) return beside;
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const main = resolve(dirname(common), '..', 'shared', 'peers');
    return existsSync(main) ? main : undefined;
  } catch {
    return undefined;
  }
}

async function peerModule(repoRoot: string): Promise<PeerModule> {
  const file = pathToFileURL(join(repoRoot, 'packages', 'test-support', 'src', 'peer.ts')).href;
  if (import.meta.url.endsWith('.ts')) return (await import(file)) as PeerModule;
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(file, import.meta.url)) as PeerModule;
}

/**
 * `--cpu-prof` is not allowed in NODE_OPTIONS (and the peer runner passes no node flags),
 * and the peer exits on SIGTERM without running exit hooks. So this preload profiles through
 * the inspector (the same V8 sampler, at --cpu-prof's 1 ms interval) and, on SIGTERM,
 * writes the profile and exits. Nothing else of the peer changes.
 */
function profilingPreload(dir: string): string {
  return `'use strict';
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 1000 }, () => session.post('Profiler.start')));
process.once('SIGTERM', () => {
  session.post('Profiler.stop', (error, result) => {
    if (!error) writeFileSync(${JSON.stringify(dir)} + '/peer-' + process.pid + '.cpuprofile', JSON.stringify(result.profile));
    process.exit(0);
  });
});
`;
}

/**
 * Starts the peer with its defaults (sends batched 60 times a second, as deployed) in
 * production mode (info-level logs: one line per connection, none per set).
 */
export async function startPeerServer(o: PeerServerOptions): Promise<PeerServer> {
  const env: Record<string, string> = { NODE_ENV: 'production' };
  if (o.nodeOptions !== undefined) env.NODE_OPTIONS = o.nodeOptions;
  if (o.profileDir !== undefined) {
    const preload = join(o.profileDir, 'cpu-profile.cjs');
    writeFileSync(preload, profilingPreload(o.profileDir));
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? ''} --require=${preload}`.trim();
  }
  const { startPeer } = await peerModule(o.repoRoot);
  const dir = peersDir(o.repoRoot);
  return startPeer({ env, output: 'ignore', ...(dir === undefined ? {} : { peersDir: dir }) });
}
