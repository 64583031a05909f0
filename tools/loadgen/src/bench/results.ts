/** Measured numbers against the targets, written as the Markdown results file. */
import type { DialectName } from '@cloudvars/protocol';
import type { LoadReport } from '../report.ts';
import { capacityModel } from './capacity.ts';
import type { MachineInfo } from './machine.ts';
import type { HeapDiff } from './heap-diff.ts';
import type { ProfileSummary } from './profile-summary.ts';
import type { WsFloor } from './ws-floor.ts';
import type { Scenario } from './scenarios.ts';

export interface ScenarioOutcome {
  readonly scenario: Scenario;
  readonly report: LoadReport;
  readonly loadAvgBefore: number;
  readonly loadAvgAfter: number;
  readonly profile?: ProfileSummary;
  readonly heap?: HeapDiff;
}

type Verdict = 'met' | 'MISSED' | '';

/** Cores of CPU outside the benchmark's processes above which the machine counts as busy. */
const OTHER_WORK_CORES = 0.25;

interface Row {
  readonly metric: string;
  readonly measured: string;
  readonly target: string;
  readonly verdict: Verdict;
}

const f = (n: number | null | undefined, d = 2): string => (n === null || n === undefined ? '-' : n.toFixed(d));
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const check = (ok: boolean): Verdict => (ok ? 'met' : 'MISSED');

export function cpuPerDelivery(o: ScenarioOutcome | undefined): number | null {
  return o?.report.load?.gatewayCpuUsPerDelivery ?? null;
}

export function rows(o: ScenarioOutcome, all: readonly ScenarioOutcome[]): Row[] {
  const { report: r, scenario: s } = o;
  const t = s.target;
  const out: Row[] = [
    { metric: 'clients joined / failed', measured: `${int(r.join.joined)} / ${int(r.join.failed)}`, target: '', verdict: '' },
    { metric: 'joins per second', measured: f(r.join.perSecond, 0), target: '', verdict: '' },
    { metric: 'gateway CPU per join (us)', measured: f(r.join.gatewayCpuUsPerJoin, 1), target: '', verdict: '' },
  ];
  const l = r.load;
  if (l) {
    out.push(
      { metric: 'measured window (s)', measured: f(l.windowSeconds, 1), target: '', verdict: '' },
      { metric: 'sets per second', measured: f(l.setsPerSecond, 0), target: '', verdict: '' },
      { metric: 'delivered / expected', measured: `${int(l.delivered)} / ${int(l.expected)} (${f(l.deliveredRatio * 100, 3)}%)`, target: '', verdict: '' },
      {
        metric: 'superseded (coalesced) / lost / unaccounted',
        measured: `${int(l.superseded)} / ${int(l.lost)} / ${int(l.unaccounted)}`,
        target: '',
        verdict: '',
      },
      {
        metric: 'all delivered (nothing lost, rooms converged)',
        measured: `${l.allDelivered ? 'yes' : 'no'}; ${int(l.roomsConverged)} / ${int(r.rooms)} rooms converged`,
        target: t.allDelivered ? 'yes' : '',
        verdict: t.allDelivered ? check(l.allDelivered) : '',
      },
      { metric: 'deliveries per second', measured: f(l.deliveriesPerSecond, 0), target: '', verdict: '' },
      { metric: 'latency p50 (ms)', measured: f(l.latencyMs.p50), target: '', verdict: '' },
      {
        metric: 'latency p99 (ms)',
        measured: f(l.latencyMs.p99),
        target: t.maxP99Ms ? `< ${t.maxP99Ms}` : '',
        verdict: t.maxP99Ms ? check(l.latencyMs.p99 < t.maxP99Ms) : '',
      },
      { metric: 'latency max (ms)', measured: f(l.latencyMs.max), target: '', verdict: '' },
      {
        metric: 'gateway CPU (s, all gateways) / cores busy per gateway',
        measured: `${f(l.gatewayCpuSeconds)} / ${f(l.gatewayCpuSeconds / l.windowSeconds / Math.max(1, r.gateways))}${l.gatewayCpuSeconds / l.windowSeconds / Math.max(1, r.gateways) > 0.85 ? ' (saturated: latency is queueing)' : ''}`,
        target: '',
        verdict: '',
      },
      {
        metric: 'gateway CPU per delivery (us)',
        measured: f(l.gatewayCpuUsPerDelivery),
        target: t.maxCpuUsPerDelivery ? `<= ${t.maxCpuUsPerDelivery}` : '',
        verdict: t.maxCpuUsPerDelivery && l.gatewayCpuUsPerDelivery !== null ? check(l.gatewayCpuUsPerDelivery <= t.maxCpuUsPerDelivery) : '',
      },
      { metric: 'Redis CPU per set (us)', measured: f(l.redisCpuUsPerSet), target: '', verdict: '' },
      { metric: 'rest of the machine (cores busy, not gateway/Redis/generator)', measured: f(l.otherCpuSeconds / l.windowSeconds), target: '', verdict: '' },
      {
        metric: 'gateway messages / frames written (batching)',
        measured: l.gatewayMessagesOut === null || l.gatewayFramesOut === null ? '-' : `${int(l.gatewayMessagesOut)} / ${int(l.gatewayFramesOut)}`,
        target: '',
        verdict: '',
      },
      { metric: 'reordered or duplicated deliveries', measured: int(l.reordered), target: '0', verdict: check(l.reordered === 0) },
    );
    if (t.maxCpuRatio) {
      const base = cpuPerDelivery(all.find((x) => x.scenario.id === t.maxCpuRatio?.relativeTo));
      const ratio = base && l.gatewayCpuUsPerDelivery !== null ? l.gatewayCpuUsPerDelivery / base : null;
      out.push({
        metric: `CPU per delivery vs (${t.maxCpuRatio.relativeTo})`,
        measured: ratio === null ? '-' : `${ratio.toFixed(2)}x`,
        target: `<= ${t.maxCpuRatio.ratio}x`,
        verdict: ratio === null ? '' : check(ratio <= t.maxCpuRatio.ratio),
      });
    }
  }
  if (r.idle) {
    const per = r.idle.bytesPerConnection;
    out.push(
      {
        metric: 'gateway RSS before / after joins / settled (MiB)',
        measured: `${f(r.idle.rssBeforeBytes / 1048576, 1)} / ${f(r.idle.rssAfterJoinBytes / 1048576, 1)} / ${f(r.idle.rssAfterBytes / 1048576, 1)}`,
        target: '',
        verdict: '',
      },
      {
        metric: 'V8 heap per idle connection (KiB)',
        measured: r.idle.heapBytesPerConnection === null ? '-' : f(r.idle.heapBytesPerConnection / 1024),
        target: '',
        verdict: '',
      },
      {
        metric: 'RSS per idle connection (KiB)',
        measured: per === null ? '-' : f(per / 1024),
        target: t.maxBytesPerConnection ? `<= ${t.maxBytesPerConnection / 1024}` : '',
        verdict: t.maxBytesPerConnection && per !== null ? check(per <= t.maxBytesPerConnection) : '',
      },
    );
  }
  for (const p of r.gatewayProcs)
    out.push({
      metric: `gateway pid ${p.pid} CPU (s) / RSS end (MiB)`,
      measured: `${f(p.cpuSeconds)} / ${f(p.rssEndBytes / 1048576, 1)}`,
      target: '',
      verdict: '',
    });
  for (const p of r.redisProcs)
    out.push({ metric: `redis-server CPU (s) / RSS end (MiB)`, measured: `${f(p.cpuSeconds)} / ${f(p.rssEndBytes / 1048576, 1)}`, target: '', verdict: '' });
  out.push(
    {
      metric: 'load generator CPU (s) / loop delay p99 (ms)',
      measured: `${f(r.loadgen.cpuSeconds)} / ${f(r.loadgen.eventLoopDelayP99Ms)}`,
      target: '',
      verdict: '',
    },
    {
      metric: 'unexpected closes',
      measured: Object.keys(r.closes).length === 0 ? 'none' : JSON.stringify(r.closes),
      target: 'none',
      verdict: check(Object.keys(r.closes).length === 0),
    },
  );
  return out;
}

function table(rs: readonly Row[]): string {
  const lines = ['| metric | measured | target | |', '|---|---|---|---|'];
  for (const r of rs) lines.push(`| ${r.metric} | ${r.measured} | ${r.target} | ${r.verdict} |`);
  return lines.join('\n');
}

function profileSection(p: ProfileSummary): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const lines = [`Gateway CPU profile over the measured window (${p.samples} samples, self time, idle excluded):`, '', '| module | share |', '|---|---|'];
  for (const m of p.modules) lines.push(`| ${m.name} | ${pct(m.share)} |`);
  lines.push('', '| function | share |', '|---|---|');
  for (const fn of p.functions) lines.push(`| \`${fn.name.replace(/\|/g, '\\|')}\` | ${pct(fn.share)} |`);
  return lines.join('\n');
}

function heapSection(h: HeapDiff): string {
  const lines = [
    `Gateway V8 heap per idle connection (snapshot diff, live objects only): ${(h.totalBytesPerConnection / 1024).toFixed(2)} KiB. ` +
      "Taking a snapshot grows the gateway's RSS, so read RSS per connection from a run without --heap; " +
      '"compiled code" grows with JIT warm-up, not with connections.',
    '',
    '| node type:name | bytes per connection | objects per connection |',
    '|---|---|---|',
  ];
  for (const r of h.rows) lines.push(`| \`${r.kind.replace(/\|/g, '\\|')}\` | ${r.bytesPerConnection.toFixed(0)} | ${r.countPerConnection.toFixed(2)} |`);
  return lines.join('\n');
}

export function renderResults(
  m: MachineInfo,
  outcomes: readonly ScenarioOutcome[],
  opts: { quick: boolean; date: string; floor: WsFloor; gatewayEnv: Readonly<Record<string, string>>; pinned: boolean; dialect?: DialectName },
): string {
  const env = Object.entries(opts.gatewayEnv);
  // Work outside the benchmark's own processes, measured from /proc/stat over each window.
  const busy = outcomes.some((o) => (o.report.load ? o.report.load.otherCpuSeconds / o.report.load.windowSeconds : 0) > OTHER_WORK_CORES);
  const parts = [
    `# Benchmark results ${opts.date} on ${m.hostname}${opts.quick ? ' (quick smoke run)' : ''}`,
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores; memory ${m.memoryGiB} GiB; kernel ${m.kernel}`,
    `- Node ${m.node}; redis-server ${m.redis}; commit ${m.commit}`,
    '- Everything (Redis, gateways, load generator) ran on this one machine over 127.0.0.1.',
    `- Clients spoke the ${opts.dialect ?? 'seed'} dialect${opts.dialect === 'scratch' ? ' (Scratch 3: no variables declared, the first set creates each)' : ''}.`,
    opts.pinned
      ? '- Pinned (`--pin`): in single-gateway scenarios the gateway ran alone on CPU 0; Redis, the generator and the driver on the other cores.'
      : '- Not pinned: gateways, Redis and the generator shared all cores.',
    env.length === 0
      ? "- Gateway settings: defaults (plus the bench's raised connection limits)."
      : `- Gateway settings changed for this run: ${env.map(([k, v]) => `\`${k}=${v}\``).join(', ')}.`,
    `- Machine floor: a bare \`ws\` send of one small frame to a loopback client costs ${opts.floor.usPerFrame.toFixed(2)} us of server CPU ` +
      `(${opts.floor.systemUsPerFrame.toFixed(2)} us of it in the kernel; ${opts.floor.frames.toLocaleString('en-US')} frames to ${opts.floor.clients.toLocaleString('en-US')} clients). ` +
      'A gateway pays at least this per frame it writes; compare it with "gateway CPU per delivery" x messages per frame.',
    busy
      ? `- **Other work was running on the machine**: in some windows more than ${OTHER_WORK_CORES} of a core went to processes other than the gateways, Redis and the generator (row "rest of the machine"). Treat latency there as pessimistic.`
      : `- The machine was otherwise quiet: in every window, processes other than the gateways, Redis and the generator used at most ${OTHER_WORK_CORES} of a core.`,
    '',
  ];
  for (const o of outcomes) {
    parts.push(
      `## (${o.scenario.id}) ${o.scenario.title}`,
      '',
      `Load average before / after: ${o.loadAvgBefore.toFixed(2)} / ${o.loadAvgAfter.toFixed(2)}.`,
      '',
      table(rows(o, outcomes)),
      '',
    );
    if (o.profile) parts.push(profileSection(o.profile), '');
    if (o.heap) parts.push(heapSection(o.heap), '');
    parts.push('<details><summary>JSON report</summary>', '', '```json', JSON.stringify(o.report), '```', '', '</details>', '');
  }
  parts.push(capacityModel(outcomes, opts.floor), '');
  return parts.join('\n');
}
