/**
 * `pnpm bench --peer`: the same scenarios against TurboWarp's server (the peer) and against
 * ours, in one run. Targets alternate and every scenario is repeated, each repetition in the
 * opposite order of the one before (peer, ours in memory, ours with Redis; then the reverse),
 * so drift on a shared machine falls on every target alike. Each measurement gets fresh
 * processes. With --profile, extra runs (not counted in the comparison) profile the peer and
 * our gateway (in memory and with Redis) under each load scenario.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from '../coordinator.ts';
import { DEFAULT_OPTIONS } from '../plan.ts';
import { formatTable, type LoadReport } from '../report.ts';
import { GC_SIGNAL, gcOnSignalNodeOptions } from './gc-on-signal.ts';
import { loadAverage } from './machine.ts';
import { otherWork, scanProcesses, type OtherWork, type ProcTable } from './other-work.ts';
import { startPeerServer } from './peer-server.ts';
import { startGateway, startRedis, stop, type Managed } from './processes.ts';
import { summarizeProfile, type ProfileSummary } from './profile-summary.ts';
import type { CompareScenario } from './scenarios.ts';

export type TargetId = 'peer' | 'ours-memory' | 'ours-redis';

/** The first repetition's order; every other repetition runs the reverse. */
export const TARGETS: readonly TargetId[] = ['peer', 'ours-memory', 'ours-redis'];

export const TARGET_LABELS: Readonly<Record<TargetId, string>> = {
  peer: "peer (TurboWarp's server, memory)",
  'ours-memory': 'ours, memory (one gateway)',
  'ours-redis': 'ours, gateway with Redis',
};

export interface Planned {
  readonly scenario: CompareScenario;
  /** 1-based. */
  readonly repetition: number;
  readonly target: TargetId;
}

/** Every measurement in the order it runs: per scenario, repetitions alternating the target order. */
export function compareSchedule(scenarios: readonly CompareScenario[], repetitions: number): Planned[] {
  const out: Planned[] = [];
  for (const scenario of scenarios) {
    for (let r = 1; r <= repetitions; r++) {
      const order = r % 2 === 1 ? TARGETS : [...TARGETS].reverse();
      for (const target of order) out.push({ scenario, repetition: r, target });
    }
  }
  return out;
}

export interface CompareRun {
  readonly scenario: string;
  readonly repetition: number;
  readonly target: TargetId;
  readonly report: LoadReport;
  readonly loadAvgBefore: number;
  readonly loadAvgAfter: number;
  /** Processes outside the benchmark that used CPU in the measured window. */
  readonly other: OtherWork;
  readonly profile?: ProfileSummary;
}

export interface CompareSettings {
  readonly repoRoot: string;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /** Settle period of the idle scenario. */
  readonly idleSeconds: number;
  /** Settings for our gateways (--env), over the bench's raised limits; the peer keeps its defaults. */
  readonly gatewayEnv?: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
}

interface Started {
  readonly url: string;
  /** The server process whose CPU is "the server": the gateway, or the peer. */
  readonly serverPid: number;
  readonly redisPid: number | undefined;
  stopAll(): Promise<void>;
}

/**
 * `nodeOptions`: NODE_OPTIONS for the server (the peer or our gateway, not Redis), e.g. the idle
 * scenario's GC preload (gc-on-signal.ts).
 */
async function startTarget(
  target: TargetId,
  settings: CompareSettings,
  podId: string,
  profileDir: string | undefined,
  nodeOptions: string | undefined,
): Promise<Started> {
  const cpuProf = profileDir === undefined ? {} : { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] };
  if (target === 'peer') {
    const peer = await startPeerServer({
      repoRoot: settings.repoRoot,
      ...(profileDir === undefined ? {} : { profileDir }),
      ...(nodeOptions === undefined ? {} : { nodeOptions }),
    });
    return { url: peer.url, serverPid: peer.pid, redisPid: undefined, stopAll: () => peer.stop() };
  }
  const procs: Managed[] = [];
  const stopAll = async (): Promise<void> => {
    // Gateways first (a CPU profile is written at exit), then Redis.
    for (const p of procs.reverse()) await stop(p);
  };
  try {
    const redis = target === 'ours-redis' ? await startRedis(settings.repoRoot) : undefined;
    if (redis) procs.push(redis);
    const gateway = await startGateway({
      repoRoot: settings.repoRoot,
      podId,
      extraEnv: { ...settings.gatewayEnv, ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }) },
      ...(redis ? { redisUrl: redis.url } : {}),
      ...cpuProf,
    });
    procs.push(gateway);
    return { url: gateway.url, serverPid: gateway.pid, redisPid: redis?.pid, stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** One measurement: fresh processes, one generator run, the other work seen in its window. */
export async function measure(p: Planned, settings: CompareSettings, profileDir?: string): Promise<CompareRun> {
  const s = p.scenario;
  const tag = `${s.id}${p.repetition}${p.target === 'peer' ? 'p' : p.target === 'ours-memory' ? 'm' : 'r'}`;
  if (profileDir !== undefined) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  // Idle: both servers run a full GC on GC_SIGNAL, for RSS without the joins' garbage as well.
  const gcDir = s.mode === 'idle' ? mkdtempSync(join(tmpdir(), 'cloudvars-gc-')) : undefined;
  const started = await startTarget(p.target, settings, `${tag}-g0`, profileDir, gcDir === undefined ? undefined : gcOnSignalNodeOptions(gcDir));
  let windowStart: { table: ProcTable; at: number } | undefined;
  let other: OtherWork = { seconds: 0, cores: 0, top: [] };
  let report: LoadReport;
  const loadAvgBefore = loadAverage();
  try {
    settings.log(
      `(${s.id}) repetition ${p.repetition}: ${TARGET_LABELS[p.target]}${profileDir === undefined ? '' : ', profiled'} (server pid ${started.serverPid}${started.redisPid === undefined ? '' : `, redis pid ${started.redisPid}`})`,
    );
    report = await runLoad(
      {
        ...DEFAULT_OPTIONS,
        mode: s.mode,
        dialect: 'scratch',
        values: 'number',
        urls: [started.url],
        clients: s.rooms * s.clientsPerRoom,
        rooms: s.rooms,
        rate: s.rate,
        variables: s.variables,
        warmupSeconds: settings.warmupSeconds,
        durationSeconds: s.mode === 'idle' ? settings.idleSeconds : settings.durationSeconds,
        workers: s.workers,
        gatewayPids: [started.serverPid],
        redisPids: started.redisPid === undefined ? [] : [started.redisPid],
        runId: `p${tag}${Date.now().toString(36)}`,
        verbose: true,
        gcSignal: gcDir === undefined ? null : GC_SIGNAL,
      },
      {
        windowStarted: () => {
          windowStart = { table: scanProcesses(), at: performance.now() };
        },
        windowEnded: () => {
          if (windowStart) other = otherWork(windowStart.table, scanProcesses(), (performance.now() - windowStart.at) / 1000);
        },
      },
    );
  } finally {
    await started.stopAll();
    if (gcDir !== undefined) rmSync(gcDir, { recursive: true, force: true });
  }
  const loadAvgAfter = loadAverage();
  settings.log(`(${s.id}) ${TARGET_LABELS[p.target]}:\n${formatTable(report)}`);
  let profile: ProfileSummary | undefined;
  if (profileDir !== undefined) {
    const file = readdirSync(profileDir).find((n) => n.endsWith('.cpuprofile'));
    if (file) profile = summarizeProfile(join(profileDir, file), report.load?.windowMonotonicUs, 15);
    else settings.log(`(${s.id}) no CPU profile was written by ${p.target}`);
  }
  return { scenario: s.id, repetition: p.repetition, target: p.target, report, loadAvgBefore, loadAvgAfter, other, ...(profile ? { profile } : {}) };
}
