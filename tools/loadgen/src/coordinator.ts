/**
 * Drives one run: workers join, (load) send through warm-up and the measured window, then
 * drain and close. The coordinator samples the gateways' and Redis's /proc at the window's
 * edges, so their CPU covers exactly the window the workers count sends in.
 */
import { delta, scrapeAll } from './gateway-metrics.ts';
import { Histogram } from './histogram.ts';
import type { JoinStats, WorkerResult } from './ipc.ts';
import { WorkerLink } from './links.ts';
import { validateOptions, type LoadOptions } from './plan.ts';
import { machineBusySeconds, procDelta, sampleProc, type ProcSample } from './proc-stats.ts';
import type { LatencySummary, LoadReport } from './report.ts';

const PROGRESS_EVERY_MS = 5000;
/** After the GC signal, before RSS is sampled again: two full collections of a 10,000-connection heap take under a second here, and V8 then gives pages back. */
const GC_SETTLE_MS = 3000;

export class NoClientsError extends Error {
  readonly code = 'CV_ERR_LOADGEN_NO_CLIENTS';
}

/** CLOCK_MONOTONIC in us: the clock of V8 CPU profiles, shared by every process on the host. */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function summarize(h: Histogram): LatencySummary {
  const ms = (us: number): number => us / 1000;
  return { p50: ms(h.quantile(0.5)), p99: ms(h.quantile(0.99)), max: ms(h.max), mean: ms(h.mean) };
}

function sampleAll(pids: readonly number[]): ProcSample[] {
  return pids.map((pid) => sampleProc(pid));
}

function cpuOf(start: readonly ProcSample[], end: readonly ProcSample[]): number {
  return start.reduce((sum, s, i) => sum + ((end[i]?.cpuSeconds ?? s.cpuSeconds) - s.cpuSeconds), 0);
}

function addCloses(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [code, n] of Object.entries(from)) into[code] = (into[code] ?? 0) + n;
}

/** Callbacks into a run, for measurements the coordinator does not make itself. */
export interface RunHooks {
  /** Called with every client still connected, after the measurements, before closing. */
  readonly beforeClose?: () => Promise<void>;
  /** Called where the measured window starts and ends (load: the sending window; idle: the settle period). */
  readonly windowStarted?: () => void;
  readonly windowEnded?: () => void;
}

export async function runLoad(options: LoadOptions, hooks: RunHooks = {}): Promise<LoadReport> {
  validateOptions(options);
  const log = (line: string): void => {
    if (options.verbose) process.stderr.write(`[loadgen] ${line}\n`);
  };
  const workerCount = Math.max(1, options.workers);
  const links = Array.from({ length: workerCount }, () => (options.workers === 0 ? WorkerLink.inProcess() : WorkerLink.forked()));
  try {
    return await drive(options, links, log, hooks);
  } finally {
    for (const link of links) link.dispose();
  }
}

async function drive(options: LoadOptions, links: WorkerLink[], log: (line: string) => void, hooks: RunHooks): Promise<LoadReport> {
  const pidsAll = [...options.gatewayPids, ...options.redisPids];
  const gw = options.gatewayPids.length;
  // Worker start-up (tsx compiling the sources) must not count as join time.
  for (const link of links) link.send({ type: 'hello' });
  await Promise.all(links.map((l) => l.next('ready')));
  const before = sampleAll(pidsAll);
  const metricsBefore = await scrapeAll(options.urls);

  log(`joining ${options.clients} clients in ${options.rooms} rooms over ${options.urls.length} gateway(s)`);
  const joinStart = performance.now();
  links.forEach((link, worker) => link.send({ type: 'join', options, worker, workers: links.length }));
  const joins: JoinStats[] = (await Promise.all(links.map((l) => l.next('joined')))).map((m) => m.stats);
  const joinSeconds = (performance.now() - joinStart) / 1000;
  const afterJoin = sampleAll(pidsAll);
  const joined = joins.reduce((n, j) => n + j.joined, 0);
  const failed = joins.reduce((n, j) => n + j.failed, 0);
  const joinLatency = new Histogram();
  for (const j of joins) joinLatency.merge(j.joinLatency);
  log(`joined ${joined}, failed ${failed} in ${joinSeconds.toFixed(2)} s`);
  if (joined === 0) {
    throw new NoClientsError(
      `no client could join: ${joins
        .flatMap((j) => j.errors)
        .slice(0, 3)
        .join('; ')}`,
    );
  }

  let windowStart = afterJoin;
  let windowEnd = afterJoin;
  let metricsStart: Map<string, number> | undefined;
  let metricsEnd: Map<string, number> | undefined;
  let settled = afterJoin;
  let afterGc: ProcSample[] | null = null;
  let monoStart = 0;
  let busyStart = 0;
  let busyEnd = 0;
  let monoEnd = 0;
  if (options.mode === 'idle') {
    // Let the join storm's garbage be collected (V8's memory reducer acts on an idle heap).
    log(`idle: settling ${options.durationSeconds} s before measuring memory`);
    hooks.windowStarted?.();
    busyStart = machineBusySeconds();
    await wait(options.durationSeconds * 1000);
    settled = sampleAll(pidsAll);
    busyEnd = machineBusySeconds();
    hooks.windowEnded?.();
    metricsEnd = await scrapeAll(options.urls);
    if (options.gcSignal !== null) {
      for (const pid of options.gatewayPids) process.kill(pid, options.gcSignal);
      await wait(GC_SETTLE_MS);
      afterGc = sampleAll(pidsAll);
    }
  }
  let windowSeconds = 0;
  let results: WorkerResult[] = [];
  if (options.mode === 'load') {
    for (const link of links) link.send({ type: 'start' });
    const progress = setInterval(() => {
      const p = links.reduce((a, l) => ({ sent: a.sent + l.progress.sent, delivered: a.delivered + l.progress.delivered, open: a.open + l.progress.open }), {
        sent: 0,
        delivered: 0,
        open: 0,
      });
      log(`window sets ${p.sent}, deliveries ${p.delivered}, open ${p.open}`);
    }, PROGRESS_EVERY_MS);
    try {
      log(`warm-up ${options.warmupSeconds} s`);
      await wait(options.warmupSeconds * 1000);
      for (const link of links) link.send({ type: 'window-start' });
      hooks.windowStarted?.();
      windowStart = sampleAll(pidsAll);
      busyStart = machineBusySeconds();
      monoStart = monotonicUs();
      metricsStart = await scrapeAll(options.urls);
      const t0 = performance.now();
      log(`measuring ${options.durationSeconds} s`);
      await wait(options.durationSeconds * 1000);
      windowEnd = sampleAll(pidsAll);
      busyEnd = machineBusySeconds();
      monoEnd = monotonicUs();
      hooks.windowEnded?.();
      metricsEnd = await scrapeAll(options.urls);
      windowSeconds = (performance.now() - t0) / 1000;
      for (const link of links) link.send({ type: 'window-end' });
    } finally {
      clearInterval(progress);
    }
    results = (await Promise.all(links.map((l) => l.next('result')))).map((m) => m.result);
  }

  await hooks.beforeClose?.();
  for (const link of links) link.send({ type: 'close' });
  await Promise.all(links.map((l) => l.next('closed')));

  const closes: Record<string, number> = {};
  // A worker's result closes include its join refusals; without a result, take the join's.
  if (results.length === 0) for (const j of joins) addCloses(closes, j.closes);
  for (const r of results) addCloses(closes, r.closes);

  const [procStart, procEnd] = options.mode === 'load' ? [windowStart, windowEnd] : options.mode === 'idle' ? [before, settled] : [before, afterJoin];
  const deltas = procStart.map((s, i) => procDelta(s, procEnd[i] ?? s));
  const gatewayJoinCpu = cpuOf(before.slice(0, gw), afterJoin.slice(0, gw));

  let load: LoadReport['load'] = null;
  if (options.mode === 'load') {
    const latency = new Histogram();
    for (const r of results) latency.merge(r.latency);
    const sum = (f: (t: WorkerResult['totals']) => number): number => results.reduce((n, r) => n + f(r.totals), 0);
    const delivered = sum((t) => t.delivered);
    const expected = sum((t) => t.expected);
    const sent = sum((t) => t.sent);
    const lost = sum((t) => t.lost);
    const unaccounted = sum((t) => t.unaccounted);
    const reordered = sum((t) => t.reordered);
    const roomsConverged = sum((t) => t.roomsConverged);
    const gatewayCpuSeconds = cpuOf(windowStart.slice(0, gw), windowEnd.slice(0, gw));
    const redisCpuSeconds = cpuOf(windowStart.slice(gw), windowEnd.slice(gw));
    load = {
      windowSeconds,
      sent,
      setsPerSecond: sent / windowSeconds,
      expected,
      delivered,
      superseded: sum((t) => t.superseded),
      lost,
      unaccounted,
      deliveredRatio: expected === 0 ? 1 : delivered / expected,
      deliveriesPerSecond: delivered / windowSeconds,
      roomsConverged,
      allDelivered: lost === 0 && unaccounted === 0 && reordered === 0 && roomsConverged === sum((t) => t.rooms),
      outsideWindow: sum((t) => t.outsideWindow),
      echoes: sum((t) => t.echoes),
      reordered,
      unstamped: sum((t) => t.unstamped),
      latencyMs: summarize(latency),
      gatewayCpuSeconds,
      gatewayCpuUsPerDelivery: gw > 0 && delivered > 0 ? (gatewayCpuSeconds * 1e6) / delivered : null,
      redisCpuSeconds,
      redisCpuUsPerSet: options.redisPids.length > 0 && sent > 0 ? (redisCpuSeconds * 1e6) / sent : null,
      windowMonotonicUs: [monoStart, monoEnd],
      otherCpuSeconds: Math.max(0, busyEnd - busyStart - gatewayCpuSeconds - redisCpuSeconds - results.reduce((n, r) => n + r.cpuSeconds, 0)),
      gatewayMessagesOut: delta(metricsStart, metricsEnd, 'cloudvars_messages_out_total'),
      gatewayFramesOut: delta(metricsStart, metricsEnd, 'cloudvars_frames_out_total'),
      framesReceived: sum((t) => t.framesReceived),
      updatesPerFrameReceived: sum((t) => t.framesReceived) > 0 ? sum((t) => t.setsInFrames) / sum((t) => t.framesReceived) : null,
    };
  }

  const rssOf = (samples: readonly ProcSample[]): number => samples.slice(0, gw).reduce((n, s) => n + s.rssBytes, 0);
  const heapBefore = metricsBefore?.get('nodejs_heap_size_used_bytes');
  const heapAfter = metricsEnd?.get('nodejs_heap_size_used_bytes');
  const idle: LoadReport['idle'] =
    options.mode === 'idle'
      ? {
          rssBeforeBytes: rssOf(before),
          rssAfterJoinBytes: rssOf(afterJoin),
          rssAfterBytes: rssOf(settled),
          bytesPerConnection: gw > 0 && joined > 0 ? (rssOf(settled) - rssOf(before)) / joined : null,
          settleSeconds: options.durationSeconds,
          // The generator's idle sockets cost next to nothing: all but the servers is other work.
          otherCpuSeconds: Math.max(0, busyEnd - busyStart - cpuOf(afterJoin, settled)),
          heapBytesPerConnection: heapBefore !== undefined && heapAfter !== undefined && joined > 0 ? (heapAfter - heapBefore) / joined : null,
          rssAfterGcBytes: afterGc === null ? null : rssOf(afterGc),
          bytesPerConnectionAfterGc: afterGc !== null && gw > 0 && joined > 0 ? (rssOf(afterGc) - rssOf(before)) / joined : null,
        }
      : null;

  return {
    mode: options.mode,
    dialect: options.dialect,
    values: options.values,
    runId: options.runId,
    gateways: options.urls.length,
    clients: options.clients,
    rooms: options.rooms,
    workers: options.workers,
    ratePerClient: options.rate,
    variables: options.variables,
    join: {
      joined,
      failed,
      errors: joins.flatMap((j) => j.errors).slice(0, 5),
      seconds: joinSeconds,
      perSecond: joined / joinSeconds,
      latencyMs: summarize(joinLatency),
      gatewayCpuUsPerJoin: gw > 0 && joined > 0 ? (gatewayJoinCpu * 1e6) / joined : null,
    },
    load,
    idle,
    closes,
    gatewayProcs: deltas.slice(0, gw),
    redisProcs: deltas.slice(gw),
    loadgen: {
      cpuSeconds: results.reduce((n, r) => n + r.cpuSeconds, 0),
      eventLoopDelayP99Ms: Math.max(0, ...results.map((r) => r.eventLoopDelayP99Ms)),
      eventLoopDelayMaxMs: Math.max(0, ...results.map((r) => r.eventLoopDelayMaxMs)),
    },
  };
}
