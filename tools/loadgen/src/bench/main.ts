/**
 * `pnpm bench`: start Redis and gateways, run the fixed scenarios, write
 * bench/results/<date>-<hostname>[-quick][-only-<ids>].md. Flags: --quick (short smoke run),
 * --only a,c (a subset), --profile (gateway CPU profile per load scenario), --heap (heap
 * snapshot diff per idle connection; with --quick, the full 10,000 make a snapshot too big
 * to read), --env KEY=VALUE (a gateway setting to try, repeatable), --pin (gateway alone on
 * CPU 0 in single-gateway scenarios), --duration S, --dialect seed|legacy|scratch (the
 * clients' protocol, default seed).
 *
 * `pnpm bench --peer`: the comparison with TurboWarp's server (compare.ts), written to
 * bench/results/<date>-<hostname>-peer[-quick][-only-<ids>].md; --repeat N (default 2),
 * --profile adds profiled runs of the peer and of our gateway in memory and with Redis.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad, type RunHooks } from '../coordinator.ts';
import { DEFAULT_OPTIONS } from '../plan.ts';
import { formatTable } from '../report.ts';
import { diffPerConnection, type HeapAggregate } from './heap-diff.ts';
import { heapFlags, takeHeapSnapshot } from './heap-probe.ts';
import { loadAverage, machineInfo } from './machine.ts';
import { pinSelf, startGateway, startRedis, stop, type Managed } from './processes.ts';
import { summarizeProfile, type ProfileSummary } from './profile-summary.ts';
import { renderResults, rows, type ScenarioOutcome } from './results.ts';
import { COMPARE_SCENARIOS, quick, quickCompare, SCENARIOS, type Scenario } from './scenarios.ts';
import { compareSchedule, measure, type CompareRun } from './compare.ts';
import { renderCompare, RATIO_TARGETS, evaluate, PROFILED_TARGETS } from './compare-results.ts';
import type { DialectName } from '@cloudvars/protocol';
import { DIALECTS } from '../wire.ts';
import { measureWsFloor } from './ws-floor.ts';

/** --pin: the gateway's core, and every other core for Redis and the generator. */
const GATEWAY_CPU = '0';
const REST_CPUS = `1-${Math.max(1, cpus().length - 1)}`;

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

interface BenchFlags {
  readonly quick: boolean;
  readonly only: readonly string[];
  readonly profile: boolean;
  /** Heap snapshot diff per idle connection in the idle scenario. */
  readonly heap: boolean;
  /**
   * Single-gateway scenarios: the gateway alone on CPU 0; Redis, the generator and this
   * process on the others, so the gateway's latency is its own queue, not CPU starvation.
   */
  readonly pin: boolean;
  /** Gateway settings for every gateway of the run (--env KEY=VALUE, repeatable). */
  readonly gatewayEnv: Readonly<Record<string, string>>;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** The clients' protocol in the ordinary scenarios. */
  readonly dialect: DialectName;
  /** The comparison with TurboWarp's server instead of the ordinary scenarios. */
  readonly peer: boolean;
  /** --peer: repetitions of each scenario (alternating the target order). */
  readonly repeat: number;
}

function flags(): BenchFlags {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      profile: { type: 'boolean' },
      heap: { type: 'boolean' },
      env: { type: 'string', multiple: true },
      pin: { type: 'boolean' },
      duration: { type: 'string' },
      dialect: { type: 'string' },
      peer: { type: 'boolean' },
      repeat: { type: 'string' },
    },
  });
  const isQuick = values.quick === true;
  const dialect = (values.dialect ?? 'seed') as DialectName;
  if (!DIALECTS.includes(dialect)) throw new Error(`CV_ERR_BENCH_ARGS: --dialect must be one of ${DIALECTS.join(', ')}`);
  const repeat = values.repeat === undefined ? 2 : Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`CV_ERR_BENCH_ARGS: --repeat wants a positive integer, got ${values.repeat}`);
  if (values.peer === true && (values.dialect !== undefined || values.pin === true || values.heap === true)) {
    throw new Error(
      'CV_ERR_BENCH_ARGS: --peer runs every target in the scratch dialect; --dialect, --pin and --heap do not apply (--env applies to our gateways only)',
    );
  }
  return {
    quick: isQuick,
    only: (values.only ?? '').split(',').filter((s) => s.length > 0),
    profile: values.profile === true,
    heap: values.heap === true,
    pin: values.pin === true,
    gatewayEnv: Object.fromEntries(
      (values.env ?? []).map((kv) => {
        const at = kv.indexOf('=');
        if (at <= 0) throw new Error(`CV_ERR_BENCH_ARGS: --env wants KEY=VALUE, got ${kv}`);
        return [kv.slice(0, at), kv.slice(at + 1)];
      }),
    ),
    durationSeconds: values.duration ? Number(values.duration) : isQuick ? 3 : 20,
    warmupSeconds: isQuick ? 1 : 5,
    dialect,
    peer: values.peer === true,
    repeat,
  };
}

async function runScenario(s: Scenario, f: BenchFlags, profileDir: string): Promise<ScenarioOutcome> {
  const procs: Managed[] = [];
  try {
    const pin = f.pin && s.gateways === 1;
    const redis = s.redis ? await startRedis(repoRoot, pin ? REST_CPUS : undefined) : undefined;
    if (redis) procs.push(redis);
    const profiling = f.profile && s.mode === 'load';
    const scenarioProfileDir = join(profileDir, s.id);
    const heapProbe = f.heap && s.mode === 'idle';
    if (profiling || heapProbe) {
      rmSync(scenarioProfileDir, { recursive: true, force: true });
      mkdirSync(scenarioProfileDir, { recursive: true });
    }
    const gateways = [];
    for (let i = 0; i < s.gateways; i++) {
      const gw = await startGateway({
        repoRoot,
        podId: `${s.id}-g${i}`,
        extraEnv: f.gatewayEnv,
        ...(pin ? { cpus: GATEWAY_CPU } : {}),
        ...(redis ? { redisUrl: redis.url } : {}),
        ...(profiling ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${scenarioProfileDir}`] } : {}),
        ...(heapProbe ? { nodeFlags: heapFlags(scenarioProfileDir) } : {}),
      });
      procs.push(gw);
      gateways.push(gw);
    }
    log(`(${s.id}) ${s.title}: gateways ${gateways.map((g) => `${g.url} pid ${g.pid}`).join(', ')}${redis ? `, redis pid ${redis.pid}` : ''}`);
    const loadAvgBefore = loadAverage();
    const firstGateway = gateways[0];
    const heapBefore = heapProbe && firstGateway ? await takeHeapSnapshot(firstGateway.pid, scenarioProfileDir) : undefined;
    let heapAfter: HeapAggregate | undefined;
    const hooks: RunHooks =
      heapProbe && firstGateway
        ? {
            beforeClose: async () => {
              heapAfter = await takeHeapSnapshot(firstGateway.pid, scenarioProfileDir);
            },
          }
        : {};
    const report = await runLoad(
      {
        ...DEFAULT_OPTIONS,
        mode: s.mode,
        urls: gateways.map((g) => g.url),
        clients: s.rooms * s.clientsPerRoom,
        rooms: s.rooms,
        rate: s.rate,
        variables: s.variables,
        dialect: f.dialect,
        // Scratch 3's VM sends numeric values as JSON numbers, as --peer does.
        values: f.dialect === 'scratch' ? 'number' : 'text',
        warmupSeconds: f.warmupSeconds,
        durationSeconds: f.durationSeconds,
        workers: s.workers,
        gatewayPids: gateways.map((g) => g.pid),
        redisPids: redis ? [redis.pid] : [],
        runId: `b${s.id}${Date.now().toString(36)}`,
        verbose: true,
      },
      hooks,
    );
    const loadAvgAfter = loadAverage();
    process.stderr.write(`${formatTable(report)}\n`);
    // Stop gateways first (the CPU profile is written at exit), then Redis.
    for (const gw of gateways) await stop(gw);
    let profile: ProfileSummary | undefined;
    if (profiling) {
      const file = readdirSync(scenarioProfileDir).find((n) => n.endsWith('.cpuprofile'));
      if (file) profile = summarizeProfile(join(scenarioProfileDir, file), report.load?.windowMonotonicUs);
      else log(`(${s.id}) no CPU profile was written (did the gateway exit cleanly?)`);
    }
    const heap = heapBefore && heapAfter && report.join.joined > 0 ? diffPerConnection(heapBefore, heapAfter, report.join.joined) : undefined;
    return { scenario: s, report, loadAvgBefore, loadAvgAfter, ...(profile ? { profile } : {}), ...(heap ? { heap } : {}) };
  } finally {
    for (const p of procs.reverse()) await stop(p);
  }
}

/** `--peer`: every chosen scenario against the peer and ours, alternating, repeated. */
async function comparePeer(f: BenchFlags): Promise<void> {
  const machine = machineInfo(repoRoot);
  const resultsDir = join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const scenarios = COMPARE_SCENARIOS.filter((s) => f.only.length === 0 || f.only.includes(s.id)).map((s) => (f.quick ? quickCompare(s) : s));
  if (scenarios.length === 0)
    throw new Error(`CV_ERR_BENCH_ARGS: --only ${f.only.join(',')} matches no scenario (ids: ${COMPARE_SCENARIOS.map((x) => x.id).join(',')})`);
  log('measuring the machine floor: bare ws sends to 1,000 loopback clients');
  const floor = await measureWsFloor();
  const settings = {
    repoRoot,
    warmupSeconds: f.warmupSeconds,
    durationSeconds: f.durationSeconds,
    idleSeconds: f.quick ? 5 : 20,
    gatewayEnv: f.gatewayEnv,
    log,
  };
  const runs: CompareRun[] = [];
  const schedule = compareSchedule(scenarios, f.repeat);
  for (const [i, planned] of schedule.entries()) {
    log(`measurement ${i + 1} of ${schedule.length}`);
    runs.push(await measure(planned, settings));
  }
  if (f.profile) {
    for (const s of scenarios.filter((x) => x.mode === 'load')) {
      for (const target of PROFILED_TARGETS) {
        runs.push(await measure({ scenario: s, repetition: 1, target }, settings, join(repoRoot, '.tmp', 'bench-profiles', `peer-${s.id}-${target}`)));
      }
    }
  }
  const date = new Date().toISOString().slice(0, 10);
  const envTag = Object.entries(f.gatewayEnv)
    .map(([key, value]) => `-${key}=${value}`)
    .join('');
  const suffix = `-peer${f.quick ? '-quick' : ''}${f.only.length > 0 ? `-only-${f.only.join('')}` : ''}${envTag}`;
  const file = join(resultsDir, `${date}-${machine.hostname}${suffix}.md`);
  writeFileSync(
    file,
    renderCompare(machine, scenarios, runs, {
      date,
      quick: f.quick,
      repetitions: f.repeat,
      warmupSeconds: f.warmupSeconds,
      durationSeconds: f.durationSeconds,
      idleSeconds: settings.idleSeconds,
      floor,
      gatewayEnv: f.gatewayEnv,
    }),
  );
  log(`wrote ${file}`);
  const measured = runs.filter((r) => r.profile === undefined);
  const missed = RATIO_TARGETS.filter((t) => evaluate(measured, scenarios, t).some((c) => c.verdict === 'MISSED'));
  if (missed.length > 0) log(`targets missed: ${missed.map((t) => t.label).join('; ')}`);
}

async function main(): Promise<void> {
  const f = flags();
  if (f.peer) {
    await comparePeer(f);
    return;
  }
  const machine = machineInfo(repoRoot);
  const resultsDir = join(repoRoot, 'bench', 'results');
  const profileDir = join(repoRoot, '.tmp', 'bench-profiles');
  mkdirSync(resultsDir, { recursive: true });
  const chosen = SCENARIOS.filter((s) => f.only.length === 0 || f.only.includes(s.id)).map((s) => (f.quick ? quick(s) : s));
  if (chosen.length === 0) throw new Error(`CV_ERR_BENCH_ARGS: --only ${f.only.join(',')} matches no scenario (ids: ${SCENARIOS.map((x) => x.id).join(',')})`);
  log('measuring the machine floor: bare ws sends to 1,000 loopback clients');
  const floor = await measureWsFloor();
  log(`floor: ${floor.usPerFrame.toFixed(2)} us CPU per frame (${floor.systemUsPerFrame.toFixed(2)} us in the kernel)`);
  if (f.pin) pinSelf(REST_CPUS); // forked generator workers inherit it
  const outcomes: ScenarioOutcome[] = [];
  for (const s of chosen) outcomes.push(await runScenario(s, f, profileDir));
  const date = new Date().toISOString().slice(0, 10);
  // Partial or quick runs never overwrite the full run's file.
  const envTag = `${f.dialect === 'seed' ? '' : `-${f.dialect}`}${Object.entries(f.gatewayEnv)
    .map(([key, value]) => `-${key}=${value}`)
    .join('')}${f.pin ? '-pinned' : ''}`;
  const suffix = `${f.quick ? '-quick' : ''}${f.only.length > 0 ? `-only-${f.only.join('')}` : ''}${envTag}`;
  const file = join(resultsDir, `${date}-${machine.hostname}${suffix}.md`);
  writeFileSync(file, renderResults(machine, outcomes, { quick: f.quick, date, floor, gatewayEnv: f.gatewayEnv, pinned: f.pin, dialect: f.dialect }));
  log(`wrote ${file}`);
  const missed = outcomes.filter((o) => rows(o, outcomes).some((r) => r.verdict === 'MISSED'));
  if (missed.length > 0) log(`targets missed in: ${missed.map((o) => `(${o.scenario.id})`).join(' ')}`);
}

main().catch((err: unknown) => {
  const code = (err as { code?: unknown }).code;
  process.stderr.write(`bench: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
