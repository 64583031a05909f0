/**
 * The soak's processes: a redis-server with AOF (restarted on the same port and directory,
 * as a node reboot would) and gateways in slots. A gateway is started by the bench's helper
 * (tools/loadgen), with an inspector on loopback so the soak can force a full GC before it
 * reads the heap, and with its metrics on a port of its own.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { metricsUrl, parsePrometheus, sampleProc, startGateway, stop, type Managed } from '@cloudvars/loadgen';
import { startRedisProcess, type RedisProcess } from '@cloudvars/test-support/redis-server';
import WebSocket from 'ws';

export class SoakProcessError extends Error {
  readonly code = 'CV_ERR_SOAK_PROCESS';
}

export async function startSoakRedis(): Promise<RedisProcess> {
  // Durable as every deployment file configures it: a restart keeps the rooms.
  return startRedisProcess({ args: ['--appendonly', 'yes', '--appendfsync', 'everysec'] });
}

export interface MemoryPoint {
  /** V8 heap in use after a full GC (every collectable object collected). */
  readonly heapUsed: number;
  readonly rss: number;
  readonly atMs: number;
}

/** One process a gateway slot ran: when, how it ended, and its memory at baseline and at the end. */
export interface GatewayLife {
  podId: string;
  pid: number;
  startedAtMs: number;
  endedAtMs: number | null;
  how: string;
  baseline: MemoryPoint | null;
  final: MemoryPoint | null;
}

export class GatewaySlot {
  proc: (Managed & { url: string }) | null = null;
  podId = '';
  metricsUrl = '';
  inspectorUrl = '';
  startedAtMs = 0;
  generation = 0;
  /** Taking clients: up and not draining. */
  open = false;
  baseline: MemoryPoint | null = null;
  final: MemoryPoint | null = null;
  /** Every process this slot ran, for the report. */
  readonly history: GatewayLife[] = [];

  constructor(
    readonly index: number,
    private readonly repoRoot: string,
    private readonly redisUrl: string,
    private readonly env: Readonly<Record<string, string>>,
  ) {}

  get url(): string {
    return this.proc?.url ?? '';
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  async start(nowMs: number): Promise<void> {
    this.generation += 1;
    // The first dash-separated part names the key prefix (loadgen: bench-<part>:), shared by all.
    this.podId = `soak-g${this.index}-${this.generation}`;
    this.proc = await startGateway({
      repoRoot: this.repoRoot,
      redisUrl: this.redisUrl,
      podId: this.podId,
      nodeFlags: ['--inspect=127.0.0.1:0'],
      // METRICS_PORT at its default (PORT + 10,000): startGateway found both free, and starts
      // again on fresh ones when another process takes either before the gateway listens.
      extraEnv: this.env,
    });
    this.metricsUrl = metricsUrl(this.proc.url);
    // SOAK_LOG_DIR=<dir>: every gateway's output in <dir>/<pod>.log, to look into a failure.
    const logDir = process.env.SOAK_LOG_DIR;
    if (logDir) {
      const file = createWriteStream(join(logDir, `${this.podId}.log`));
      for (const line of this.proc.output) file.write(`${line}\n`);
      this.proc.child.stdout?.pipe(file);
      this.proc.child.stderr?.pipe(file);
    }
    const line = this.proc.output.find((l) => l.includes('Debugger listening on'));
    const found = /(ws:\/\/\S+)/.exec(line ?? '');
    if (!found?.[1]) throw new SoakProcessError(`gateway ${this.podId}: no inspector URL in its output`);
    this.inspectorUrl = found[1];
    this.startedAtMs = nowMs;
    this.baseline = null;
    this.final = null;
    this.open = true;
    this.history.push({ podId: this.podId, pid: this.proc.pid, startedAtMs: nowMs, endedAtMs: null, how: 'running at the end', baseline: null, final: null });
  }

  private ended(nowMs: number, how: string): void {
    const entry = this.history.at(-1);
    if (entry) Object.assign(entry, { endedAtMs: nowMs, how, baseline: this.baseline, final: this.final });
  }

  /** SIGTERM: the gateway drains (1012 to its clients) and exits. */
  async drain(nowMs: () => number): Promise<number | null> {
    this.open = false;
    const proc = this.proc;
    if (!proc) return null;
    const code = await stop(proc);
    this.ended(nowMs(), `drained (SIGTERM, exit ${code})`);
    this.proc = null;
    return code;
  }

  /** SIGKILL: nothing is released; its leases must lapse on their own. */
  async kill(nowMs: () => number): Promise<void> {
    this.open = false;
    const proc = this.proc;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
    proc.child.kill('SIGKILL');
    await exited;
    this.ended(nowMs(), 'killed (SIGKILL)');
    this.proc = null;
  }

  /** The end of the run: record the last measures, then stop it. */
  async finish(nowMs: number): Promise<void> {
    this.open = false;
    this.ended(nowMs, 'running at the end');
    if (this.proc) await stop(this.proc);
    this.proc = null;
  }

  rss(): number {
    return this.proc ? sampleProc(this.proc.pid).rssBytes : 0;
  }

  async metrics(): Promise<Map<string, number> | null> {
    try {
      const response = await fetch(this.metricsUrl);
      return response.ok ? parsePrometheus(await response.text()) : null;
    } catch {
      return null; // down or restarting: no sample this time
    }
  }

  /** A full GC through the inspector, then the heap in use and the RSS. */
  async measure(nowMs: number): Promise<MemoryPoint> {
    const heapUsed = await gcHeapUsed(this.inspectorUrl);
    return { heapUsed, rss: this.rss(), atMs: nowMs };
  }
}

const INSPECTOR_TIMEOUT_MS = 30_000;

/** Chrome DevTools Protocol over the gateway's inspector: collect garbage (twice), read process.memoryUsage(). */
export async function gcHeapUsed(inspectorUrl: string): Promise<number> {
  const ws = new WebSocket(inspectorUrl, { perMessageDeflate: false });
  const pending = new Map<number, (result: unknown) => void>();
  let nextId = 0;
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  const timer = setTimeout(() => ws.terminate(), INSPECTOR_TIMEOUT_MS);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('close', () => reject(new SoakProcessError(`inspector ${inspectorUrl} closed`)));
    });
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const result = (await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
      result?: { value?: string };
    };
    const usage = JSON.parse(result.result?.value ?? '{}') as { heapUsed?: number };
    if (typeof usage.heapUsed !== 'number') throw new SoakProcessError(`inspector ${inspectorUrl}: no heapUsed`);
    return usage.heapUsed;
  } finally {
    clearTimeout(timer);
    ws.close();
  }
}
