/**
 * Gateway processes for cluster and fault tests, started from the sources like every test
 * (`node --conditions=source --import tsx services/gateway/src/main.ts` from the repo root), so a
 * test can SIGKILL one, read its JSON logs and hit its HTTP endpoints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../../src/config.ts';
import { ONE_ADDRESS_TESTS } from './test-env.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = 'services/gateway/src/main.ts';
/** tsx compiles on first start; two cores under a parallel test run make that slow. */
const LISTEN_TIMEOUT_MS = 30_000;
/** A SIGTERM'd gateway drains; past this the stop escalates to SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;

export class GatewayProcessError extends Error {
  readonly code = 'CV_ERR_TEST_GATEWAY_PROCESS';
  constructor(message: string) {
    super(message);
    this.name = 'GatewayProcessError';
  }
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  /** `ws://127.0.0.1:<port>/` */
  readonly url: string;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Every stdout/stderr line so far (pino JSON on stdout). */
  readonly logs: string[];
  readonly exited: Promise<Exit>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL if the drain does not end in time; resolves on exit. Idempotent. */
  stop(): Promise<Exit>;
}

/** The process gets this test's settings only: any gateway setting in the runner's env is dropped. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(SETTINGS)) delete base[name];
  return { ...base, HOST: '127.0.0.1', PORT: '0', DRAIN_DELAY_MS: '0', LOG_LEVEL: 'info', ...ONE_ADDRESS_TESTS, ...env };
}

function collectLines(child: ChildProcess, logs: string[], onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        logs.push(line);
        onLine(line);
      }
    });
  }
}

/** The `url` of a pino line with msg 'listening', else null. */
function listeningUrl(line: string): string | null {
  if (!line.startsWith('{')) return null;
  try {
    const entry: unknown = JSON.parse(line);
    if (typeof entry !== 'object' || entry === null) return null;
    const { msg, url } = entry as Record<string, unknown>;
    return msg === 'listening' && typeof url === 'string' ? url : null;
  } catch (error) {
    if (error instanceof SyntaxError) return null; // a non-JSON line (a Node warning)
    throw error;
  }
}

export async function startGatewayProcess(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
    cwd: REPO_ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new GatewayProcessError(`no 'listening' line within ${LISTEN_TIMEOUT_MS} ms:\n${logs.slice(-20).join('\n')}`));
    }, LISTEN_TIMEOUT_MS);
    collectLines(child, logs, (line) => {
      const url = listeningUrl(line);
      if (url === null) return;
      clearTimeout(timer);
      resolve(url);
    });
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new GatewayProcessError(`exited (${exit.code ?? exit.signal}) before listening:\n${logs.slice(-20).join('\n')}`));
    });
  });
  const httpUrl = address.replace(/^ws/, 'http').replace(/\/$/, '');
  let stopping: Promise<Exit> | null = null;
  return {
    url: `${httpUrl.replace(/^http/, 'ws')}/`,
    httpUrl,
    pid: child.pid as number,
    child,
    logs,
    exited,
    kill: (signal) => {
      child.kill(signal);
    },
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return exited;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const exit = await exited;
        clearTimeout(timer);
        return exit;
      })()),
  };
}

/** The HTTP status of GET `path`, or 0 when nothing answers. */
export async function httpStatus(httpUrl: string, path: string): Promise<number> {
  try {
    const response = await fetch(`${httpUrl}${path}`);
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    if (error instanceof TypeError) return 0; // fetch failed: refused or reset
    throw error;
  }
}
