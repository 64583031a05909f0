/**
 * `pnpm bench --peer` results: per target the measured costs, ours/peer ratios against
 * the bench's targets, every run in the order it ran with the other work seen in its window,
 * and (with --profile) where each server's CPU goes per (set x recipient).
 */
import type { LoadReport } from '../report.ts';
import { TARGET_LABELS, TARGETS, type CompareRun, type TargetId } from './compare.ts';
import { describeOtherWork } from './other-work.ts';
import type { MachineInfo } from './machine.ts';
import type { CompareScenario } from './scenarios.ts';
import type { WsFloor } from './ws-floor.ts';

/** CPU of the server process per (set x recipient), us: coalescing does not lower the denominator. */
export function serverUsPerPair(r: LoadReport): number | null {
  const l = r.load;
  return l && l.expected > 0 ? (l.gatewayCpuSeconds * 1e6) / l.expected : null;
}

/**
 * Server CPU per WebSocket frame its clients received in the window, us (a frame carries
 * `updatesPerFrameReceived` updates): what a frame costs each server, whatever it batches.
 */
export function serverUsPerFrame(r: LoadReport): number | null {
  const l = r.load;
  return l && l.framesReceived > 0 ? (l.gatewayCpuSeconds * 1e6) / l.framesReceived : null;
}

/** Server and Redis together per (set x recipient), us; null without Redis. */
export function withRedisUsPerPair(r: LoadReport): number | null {
  const l = r.load;
  return l && l.expected > 0 && r.redisProcs.length > 0 ? ((l.gatewayCpuSeconds + l.redisCpuSeconds) * 1e6) / l.expected : null;
}

/** Every update delivered or superseded, every room converged, no client closed. */
export function deliveryOk(r: LoadReport): boolean | null {
  if (!r.load) return null;
  return r.load.allDelivered && Object.keys(r.closes).length === 0 && r.join.failed === 0;
}

export type Metric = 'cpu' | 'cpuRedis' | 'p50' | 'p99' | 'idle' | 'idleAfterGc';

export function metricOf(r: LoadReport, m: Metric): number | null {
  switch (m) {
    case 'cpu':
      return serverUsPerPair(r);
    case 'cpuRedis':
      return withRedisUsPerPair(r);
    case 'p50':
      return r.load ? r.load.latencyMs.p50 : null;
    case 'p99':
      return r.load ? r.load.latencyMs.p99 : null;
    case 'idle':
      return r.idle?.bytesPerConnection ?? null;
    case 'idleAfterGc':
      return r.idle?.bytesPerConnectionAfterGc ?? null;
  }
}

export interface Spread {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function spread(values: readonly (number | null)[]): Spread | null {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (xs.length === 0) return null;
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

function runsOf(runs: readonly CompareRun[], scenario: string, target: TargetId): CompareRun[] {
  return runs.filter((r) => r.scenario === scenario && r.target === target && r.profile === undefined);
}

export function measured(runs: readonly CompareRun[], scenario: string, target: TargetId, m: Metric): Spread | null {
  return spread(runsOf(runs, scenario, target).map((r) => metricOf(r.report, m)));
}

export interface Ratio {
  /** Mean of ours / mean of the peer's. */
  readonly ratio: number;
  /** Range of the per-repetition ratios (repetition i of ours against repetition i of the peer). */
  readonly min: number;
  readonly max: number;
}

export function ratio(runs: readonly CompareRun[], scenario: string, ours: TargetId, m: Metric, peerMetric: Metric = m): Ratio | null {
  const mine = measured(runs, scenario, ours, m);
  const theirs = measured(runs, scenario, 'peer', peerMetric);
  if (!mine || !theirs || theirs.mean <= 0) return null;
  const peerByRep = new Map(runsOf(runs, scenario, 'peer').map((r) => [r.repetition, metricOf(r.report, peerMetric)]));
  const each: number[] = [];
  for (const r of runsOf(runs, scenario, ours)) {
    const a = metricOf(r.report, m);
    const b = peerByRep.get(r.repetition);
    if (a !== null && b !== null && b !== undefined && b > 0) each.push(a / b);
  }
  return {
    ratio: mine.mean / theirs.mean,
    min: each.length > 0 ? Math.min(...each) : mine.mean / theirs.mean,
    max: each.length > 0 ? Math.max(...each) : mine.mean / theirs.mean,
  };
}

/** The bench's targets (bench/README.md), as ratios of ours to the peer in one run. */
export interface RatioTarget {
  readonly label: string;
  readonly ours: TargetId;
  readonly metric: Metric;
  /** The peer's metric to divide by (the peer has no Redis: its own CPU). */
  readonly peerMetric: Metric;
  readonly scenarios: 'load' | 'idle';
  readonly max: number;
}

export const RATIO_TARGETS: readonly RatioTarget[] = [
  { label: 'gateway with Redis: CPU per (set x recipient)', ours: 'ours-redis', metric: 'cpu', peerMetric: 'cpu', scenarios: 'load', max: 0.8 },
  { label: 'gateway + Redis: CPU per (set x recipient)', ours: 'ours-redis', metric: 'cpuRedis', peerMetric: 'cpu', scenarios: 'load', max: 1.0 },
  { label: 'gateway with Redis: p99 latency', ours: 'ours-redis', metric: 'p99', peerMetric: 'p99', scenarios: 'load', max: 1.0 },
  { label: 'one node in memory: CPU per (set x recipient)', ours: 'ours-memory', metric: 'cpu', peerMetric: 'cpu', scenarios: 'load', max: 0.7 },
  { label: 'one node in memory: p99 latency', ours: 'ours-memory', metric: 'p99', peerMetric: 'p99', scenarios: 'load', max: 1.0 },
  { label: 'idle memory per connection, gateway with Redis', ours: 'ours-redis', metric: 'idle', peerMetric: 'idle', scenarios: 'idle', max: 0.8 },
  { label: 'idle memory per connection, one node in memory', ours: 'ours-memory', metric: 'idle', peerMetric: 'idle', scenarios: 'idle', max: 0.8 },
];

export type Verdict = 'met' | 'MISSED' | '-';

export interface TargetCell {
  readonly scenario: string;
  readonly ratio: Ratio | null;
  readonly verdict: Verdict;
  /**
   * Ours or the peer failed delivery in a repetition of this load scenario: the server did not
   * keep up (or lost updates), so its cost per (set x recipient) and latency are not those of
   * a steady state, and the target cannot count as met.
   */
  readonly deliveryFailed: boolean;
}

/** Delivery per target and load scenario: every repetition must pass. */
export function deliveryVerdict(runs: readonly CompareRun[], scenario: string, target: TargetId): Verdict {
  const results = runsOf(runs, scenario, target).map((r) => deliveryOk(r.report));
  if (results.length === 0 || results.some((x) => x === null)) return '-';
  return results.every((x) => x === true) ? 'met' : 'MISSED';
}

export function evaluate(runs: readonly CompareRun[], scenarios: readonly CompareScenario[], t: RatioTarget): TargetCell[] {
  return scenarios
    .filter((s) => (t.scenarios === 'idle' ? s.mode === 'idle' : s.mode === 'load'))
    .map((s) => {
      const r = ratio(runs, s.id, t.ours, t.metric, t.peerMetric);
      const deliveryFailed = s.mode === 'load' && (deliveryVerdict(runs, s.id, t.ours) === 'MISSED' || deliveryVerdict(runs, s.id, 'peer') === 'MISSED');
      const verdict: Verdict = r === null ? '-' : r.ratio <= t.max && !deliveryFailed ? 'met' : 'MISSED';
      return { scenario: s.id, ratio: r, verdict, deliveryFailed };
    });
}

const f = (n: number | null | undefined, d = 2): string => (n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));

function range(s: Spread | null, d = 2, scale = 1): string {
  if (!s) return '-';
  const lo = (s.min * scale).toFixed(d);
  const hi = (s.max * scale).toFixed(d);
  return lo === hi ? lo : `${lo}-${hi}`;
}

function ratioText(r: Ratio | null): string {
  if (!r) return '-';
  const lo = r.min.toFixed(2);
  const hi = r.max.toFixed(2);
  return `${r.ratio.toFixed(2)}x${lo === hi ? '' : ` (${lo}-${hi})`}`;
}

/** The README-sized table: measured ranges per target, ratios to the peer for ours. */
export function summaryTable(runs: readonly CompareRun[], scenarios: readonly CompareScenario[]): string {
  const load = scenarios.filter((s) => s.mode === 'load');
  const idle = scenarios.filter((s) => s.mode === 'idle');
  const head = [
    '',
    ...load.map((s) => `(${s.id}) ${s.title}`),
    ...idle.flatMap((s) => [`(${s.id}) idle memory per connection`, `(${s.id}) the same after a full GC (what the connections keep alive)`]),
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  const rowsFor: Array<[string, TargetId, boolean]> = [
    [TARGET_LABELS.peer, 'peer', false],
    [TARGET_LABELS['ours-memory'], 'ours-memory', false],
    [TARGET_LABELS['ours-redis'], 'ours-redis', false],
    ['ours, gateway + Redis', 'ours-redis', true],
  ];
  for (const [label, target, withRedis] of rowsFor) {
    const cells = [label];
    for (const s of load) {
      const cpu = measured(runs, s.id, target, withRedis ? 'cpuRedis' : 'cpu');
      const vsPeer = target === 'peer' ? null : ratio(runs, s.id, target, withRedis ? 'cpuRedis' : 'cpu', 'cpu');
      const p99 = measured(runs, s.id, target, 'p99');
      const failed = deliveryVerdict(runs, s.id, target) === 'MISSED' ? ' **delivery failed**' : '';
      const cpuText = cpu ? `${range(cpu)} us${withRedis ? '' : failed}` : '-';
      cells.push(
        withRedis
          ? vsPeer
            ? `${vsPeer.ratio.toFixed(2)}x the peer (${cpuText})`
            : cpuText
          : `${vsPeer ? `${vsPeer.ratio.toFixed(2)}x the peer (${cpuText})` : cpuText}, p99 ${range(p99, 0)} ms`,
      );
    }
    for (const s of idle) {
      for (const metric of ['idle', 'idleAfterGc'] as const) {
        if (withRedis) {
          cells.push('');
          continue;
        }
        const kib = measured(runs, s.id, target, metric);
        const vsPeer = target === 'peer' ? null : ratio(runs, s.id, target, metric);
        cells.push(kib ? `${vsPeer ? `${vsPeer.ratio.toFixed(2)}x the peer (${range(kib, 1, 1 / 1024)} KiB)` : `${range(kib, 1, 1 / 1024)} KiB`}` : '-');
      }
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function targetsTable(runs: readonly CompareRun[], scenarios: readonly CompareScenario[]): string {
  const lines = ['| target | ' + scenarios.map((s) => `(${s.id})`).join(' | ') + ' | at most |', `|---|${scenarios.map(() => '---').join('|')}|---|`];
  for (const t of RATIO_TARGETS) {
    const cells = evaluate(runs, scenarios, t);
    if (cells.length === 0) continue;
    const byId = new Map(cells.map((c) => [c.scenario, c]));
    lines.push(
      `| ${t.label} | ${scenarios
        .map((s) => {
          const c = byId.get(s.id);
          return c ? `${ratioText(c.ratio)} ${c.verdict}${c.deliveryFailed ? ' (delivery failed: not a steady state)' : ''}` : '';
        })
        .join(' | ')} | ${t.max.toFixed(1)}x |`,
    );
  }
  const load = scenarios.filter((s) => s.mode === 'load');
  for (const target of TARGETS) {
    if (load.length === 0) break;
    lines.push(
      `| delivery, ${TARGET_LABELS[target]}: every update delivered or superseded, every client converged, none closed | ${scenarios.map((s) => (s.mode === 'load' ? deliveryVerdict(runs, s.id, target) : '')).join(' | ')} | |`,
    );
  }
  return lines.join('\n');
}

function runsTable(runs: readonly CompareRun[]): string {
  const lines = [
    '| # | scen. | rep. | target | sets/s | server CPU / (set x recipient) us | + Redis us | p50 / p99 ms | updates per frame received | server CPU per frame us | delivered / superseded / lost | closes | server cores busy | generator CPU cores / loop p99 ms | rest of the machine, cores | other processes in the window (cores) | load avg before / after |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  runs.forEach((run, i) => {
    const r = run.report;
    const l = r.load;
    // Idle: the process deltas span the joins too, so no cores-busy figure.
    const serverCores = l ? l.gatewayCpuSeconds / l.windowSeconds : null;
    const rest = l ? l.otherCpuSeconds / l.windowSeconds : r.idle ? r.idle.otherCpuSeconds / Math.max(1, r.idle.settleSeconds) : null;
    lines.push(
      `| ${i + 1} | (${run.scenario}) | ${run.repetition} | ${run.target}${run.profile ? ' (profiled)' : ''} | ${l ? f(l.setsPerSecond, 0) : '-'} | ${l ? f(serverUsPerPair(r)) : r.idle ? `idle: ${f((r.idle.bytesPerConnection ?? NaN) / 1024)} KiB/conn${r.idle.bytesPerConnectionAfterGc === null ? '' : `, after a full GC ${f(r.idle.bytesPerConnectionAfterGc / 1024)}`}` : '-'} | ${f(withRedisUsPerPair(r))} | ${l ? `${f(l.latencyMs.p50)} / ${f(l.latencyMs.p99)}` : '-'} | ${f(l?.updatesPerFrameReceived)} | ${f(serverUsPerFrame(r))} | ${l ? `${l.delivered} / ${l.superseded} / ${l.lost}` : `${r.join.joined} joined, ${r.join.failed} failed`} | ${Object.keys(r.closes).length === 0 ? 'none' : JSON.stringify(r.closes)} | ${f(serverCores)} | ${l ? `${f(r.loadgen.cpuSeconds / l.windowSeconds)} / ${f(r.loadgen.eventLoopDelayP99Ms, 0)}` : '-'} | ${f(rest)} | ${describeOtherWork(run.other)} | ${f(run.loadAvgBefore)} / ${f(run.loadAvgAfter)} |`,
    );
  });
  return lines.join('\n');
}

/** Categories below this share in every column are summed into one row. */
const MIN_CATEGORY_SHARE = 0.005;

/** The targets `--profile` profiles, in the order of the profile tables' columns. */
export const PROFILED_TARGETS: readonly TargetId[] = ['peer', 'ours-memory', 'ours-redis'];
const PROFILE_LABELS: Record<TargetId, string> = { peer: 'peer', 'ours-memory': 'ours, memory', 'ours-redis': 'ours, gateway with Redis' };

function profileTables(runs: readonly CompareRun[], scenarios: readonly CompareScenario[]): string {
  const profiled = runs.filter((r) => r.profile !== undefined);
  if (profiled.length === 0) return '';
  const parts = [
    '## Where the CPU goes per (set x recipient) (profiles)',
    '',
    'Separate runs with `node --cpu-prof` (not part of the comparison above: profiling costs a few percent). ' +
      "Self time of the server's main thread over the measured window, by what the code does, scaled to that run's " +
      'CPU per (set x recipient) as /proc measured it (kernel time spent in a system call is sampled under the function ' +
      'that made it; helper threads, such as parallel GC, are outside the samples, so the shares are of the main thread).',
    '',
  ];
  for (const s of scenarios.filter((x) => x.mode === 'load')) {
    const find = (target: TargetId): CompareRun | undefined => profiled.find((r) => r.scenario === s.id && r.target === target);
    const cols: Array<[string, CompareRun | undefined]> = PROFILED_TARGETS.map((target) => [PROFILE_LABELS[target], find(target)]);
    if (cols.every(([, run]) => !run?.profile)) continue;
    parts.push(`### (${s.id}) ${s.title}`, '');
    const total = (run: CompareRun | undefined): number | null => (run ? serverUsPerPair(run.report) : null);
    const ours = find('ours-redis');
    parts.push(
      `CPU per (set x recipient), whole process: ${cols.map(([label, run]) => `${label} ${f(total(run))} us`).join(', ')} (Redis adds ${f(ours ? (withRedisUsPerPair(ours.report) ?? NaN) - (serverUsPerPair(ours.report) ?? NaN) : null)} us). ` +
        `Updates per frame received by the clients: ${cols.map(([label, run]) => `${label} ${f(run?.report.load?.updatesPerFrameReceived)}`).join(', ')}.`,
      '',
    );
    const rowsByCol = cols.map(([, run]) => run?.profile?.categories ?? []);
    const names = [...new Set(rowsByCol.flatMap((rows) => rows.map((r) => r.name)))];
    const shareOf = (i: number, name: string): number => rowsByCol[i]?.find((r) => r.name === name)?.share ?? 0;
    const largest = (name: string): number => Math.max(...cols.map((_, i) => shareOf(i, name)));
    names.sort((a, b) => largest(b) - largest(a));
    const shown = names.filter((name) => cols.some((_, i) => shareOf(i, name) >= MIN_CATEGORY_SHARE));
    const rest = names.filter((name) => !shown.includes(name));
    const cell = (run: CompareRun | undefined, share: number): string => {
      if (!run?.profile) return '-';
      const t = total(run);
      return `${(share * 100).toFixed(1)}% / ${t === null ? '-' : (share * t).toFixed(2)}`;
    };
    parts.push(`| what | ${cols.map(([label]) => `${label}: share / us`).join(' | ')} |`, `|---|${cols.map(() => '---').join('|')}|`);
    for (const name of shown) parts.push(`| ${name} | ${cols.map(([, run], i) => cell(run, shareOf(i, name))).join(' | ')} |`);
    if (rest.length > 0) {
      parts.push(
        `| other (${rest.length} more, each below ${MIN_CATEGORY_SHARE * 100}%) | ${cols
          .map(([, run], i) =>
            cell(
              run,
              rest.reduce((n, name) => n + shareOf(i, name), 0),
            ),
          )
          .join(' | ')} |`,
      );
    }
    parts.push('');
    for (const [label, run] of cols) {
      if (!run?.profile) continue;
      const t = total(run);
      const row = (fn: { name: string; share: number }): string =>
        `| \`${fn.name.replace(/\|/g, '\\|')}\` | ${(fn.share * 100).toFixed(1)}% | ${t === null ? '-' : (fn.share * t).toFixed(2)} |`;
      parts.push(`${label}, ${run.profile.samples} samples. Top functions, self time:`, '', '| function | share | us per (set x recipient) |', '|---|---|---|');
      for (const fn of run.profile.functions) parts.push(row(fn));
      parts.push(
        '',
        `${label}: the application's own functions, inclusive time (what they call included):`,
        '',
        '| function | share | us per (set x recipient) |',
        '|---|---|---|',
      );
      for (const fn of run.profile.inclusive) parts.push(row(fn));
      parts.push('');
    }
  }
  return parts.join('\n');
}

/** A warning line per target and load scenario whose delivery failed. */
function failedDelivery(runs: readonly CompareRun[], scenarios: readonly CompareScenario[]): string[] {
  const failed: string[] = [];
  for (const s of scenarios.filter((x) => x.mode === 'load')) {
    for (const target of TARGETS) if (deliveryVerdict(runs, s.id, target) === 'MISSED') failed.push(`(${s.id}) ${TARGET_LABELS[target]}`);
  }
  if (failed.length === 0) return [];
  return [
    `- **Delivery failed** in ${failed.join('; ')}: updates were lost or came late enough that rooms had not converged by the end of the drain, or clients were closed (see every run below). ` +
      'Such a server fell behind: its CPU per (set x recipient) counts work it never did and its latency is a growing queue, so those ratios are no comparison of costs and their targets are marked MISSED.',
  ];
}

export interface CompareMeta {
  readonly date: string;
  readonly quick: boolean;
  readonly repetitions: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly idleSeconds: number;
  readonly floor: WsFloor;
  /** Settings our gateways ran with (--env); empty: defaults. */
  readonly gatewayEnv?: Readonly<Record<string, string>>;
}

export function renderCompare(m: MachineInfo, scenarios: readonly CompareScenario[], runs: readonly CompareRun[], meta: CompareMeta): string {
  const measuredRuns = runs.filter((r) => r.profile === undefined);
  const busiest = Math.max(0, ...measuredRuns.map((r) => r.other.cores));
  const parts = [
    `# Ours against TurboWarp's server ${meta.date} on ${m.hostname}${meta.quick ? ' (quick smoke run)' : ''}`,
    '',
    "`pnpm bench --peer` (bench/README.md): each scenario against the peer (TurboWarp's cloud-server from `../shared/peers`, its defaults: " +
      'in memory, sends batched 60 times a second), our gateway in memory (one gateway, no Redis) and our gateway with Redis (one gateway + one redis-server), ' +
      `${meta.repetitions} repetitions, each in the reverse target order of the one before, fresh processes for every measurement. ` +
      `Every client speaks the Scratch 3 dialect and sends its values as JSON numbers; every member of a room writes a variable of its own. ` +
      `Load: ${meta.warmupSeconds} s warm-up, ${meta.durationSeconds} s measured; idle: ${meta.idleSeconds} s settle after the joins.`,
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores; memory ${m.memoryGiB} GiB; kernel ${m.kernel}`,
    `- Node ${m.node}; redis-server ${m.redis}; commit ${m.commit}`,
    '- Everything (servers, Redis, the load generator) on this one machine over 127.0.0.1, not pinned.',
    Object.keys(meta.gatewayEnv ?? {}).length === 0
      ? "- Our gateways: default settings (plus the bench's raised per-address limits)."
      : `- Our gateways ran with ${Object.entries(meta.gatewayEnv ?? {})
          .map(([k, v]) => `\`${k}=${v}\``)
          .join(', ')} (the peer with its defaults).`,
    `- Machine floor: a bare \`ws\` send of one small frame to a loopback client costs ${meta.floor.usPerFrame.toFixed(2)} us of server CPU (${meta.floor.systemUsPerFrame.toFixed(2)} us in the kernel).`,
    busiest > 0.25
      ? `- **The machine was shared**: in some windows processes outside the benchmark used up to ${busiest.toFixed(2)} cores (column "other processes" below). Ratios compare targets measured minutes apart in the same conditions, alternating; absolute numbers are pessimistic.`
      : '- The machine was otherwise quiet in every window (other processes below 0.25 of a core).',
    ...failedDelivery(measuredRuns, scenarios),
    "- CPU per (set x recipient) = the server process's CPU (utime + stime from /proc) in the window / (sets sent in the window x other members of the room): " +
      'values coalesced by a server do not lower the denominator. "+ Redis" adds redis-server\'s CPU. Latency: set sent -> received by each other member. ' +
      'Idle memory: (server RSS after the joins and the settle period - RSS before) / connections.',
    '',
    '## Summary (mean of the repetitions, range in brackets)',
    '',
    summaryTable(measuredRuns, scenarios),
    '',
    '## Targets: ours / peer (ratio of the means; per-repetition range)',
    '',
    targetsTable(measuredRuns, scenarios),
    '',
    '## Every run, in the order it ran',
    '',
    '"rest of the machine" is all CPU outside the servers and the generator\'s workers (the bench driver and the kernel\'s softirq work included); ' +
      '"other processes" names the busiest processes outside the benchmark\'s own process tree.',
    '',
    runsTable(runs),
    '',
    profileTables(runs, scenarios),
    '<details><summary>JSON reports</summary>',
    '',
    '```json',
    JSON.stringify(
      runs.map((r) => ({
        scenario: r.scenario,
        repetition: r.repetition,
        target: r.target,
        profiled: r.profile !== undefined,
        other: r.other,
        report: r.report,
      })),
    ),
    '```',
    '',
    '</details>',
    '',
  ];
  return parts.join('\n');
}
