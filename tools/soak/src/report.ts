/** A soak run as markdown (numbers, tables) beside its plot (SVG) and raw data (JSON). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration, SOAK_GATEWAY_ENV } from './options.ts';
import { renderPlot } from './plot.ts';
import type { SoakReport } from './soak.ts';

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const pct = (fraction: number): string => `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(1)} %`;
const ms = (value: number): string => (value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`);
const sec = (tMs: number): string => `${(tMs / 1000).toFixed(1)} s`;

export function renderMarkdown(report: SoakReport, plotFile: string): string {
  const o = report.options;
  const m = report.machine;
  const lines: string[] = [];
  lines.push(`# Soak: ${formatDuration(o.durationMs)} on ${m.hostname} (${report.startedAt.slice(0, 10)})`);
  lines.push('');
  lines.push(
    `**${report.failures.length === 0 ? 'PASSED' : 'FAILED'}**: ${report.failures.length === 0 ? "every gateway's memory back within " + o.memoryTolerance * 100 + ' % of its baseline, every client on the stored values, Redis holding exactly what the remaining clients and gateways explain.' : report.failures.length + ' failures (listed at the end).'}`,
  );
  lines.push('');
  lines.push(`![memory and latency over time](${plotFile})`);
  lines.push('');
  lines.push('## Setup');
  lines.push(
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; Linux ${m.kernel}; Node ${m.node}; Redis ${m.redis}; commit ${m.commit}. Everything on loopback, sharing the cores (load average ${report.loadAverageEnd.toFixed(2)} at the end).`,
  );
  lines.push(
    `- ${o.gateways} gateways (gateway 0 runs the whole time; 1 and 2 are drained and SIGKILLed every ${formatDuration(o.faultPeriodMs)} and replaced), one redis-server with AOF (everysec), restarted (SIGTERM) and SIGKILLed every period.`,
  );
  lines.push(
    `- ${report.clients.good} well-behaved clients in ${o.rooms} rooms (half of them mixed: 2020 seed and legacy clients declaring the variables with today's clients; half today's clients only), from ${Math.ceil(report.clients.good / 2)} addresses (X-Forwarded-For), each setting a stamped value every ${o.setIntervalMs / 1000} s on average; churn ${o.churnPerSecond}/s (leaves and returns, page reloads, room changes); ${o.badPerSecond} misbehaving client/s.`,
  );
  lines.push(
    `- Warm-up ${formatDuration(o.warmupMs)} (a replacement gateway's: ${formatDuration(o.gatewayWarmupMs)}); no fault in the last ${formatDuration(o.quietMs)}; samples every ${o.sampleEveryMs / 1000} s; seed ${report.seed}; ${report.wallSeconds.toFixed(0)} s of wall time in all.`,
  );
  lines.push(
    `- Gateway settings: ${Object.entries(SOAK_GATEWAY_ENV)
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(', ')}.`,
  );
  lines.push('');
  lines.push('## Memory: each gateway against its baseline');
  lines.push(
    "Heap is V8's heap in use right after a forced full GC (through the inspector), so garbage does not count; RSS as the kernel reports it. Baseline: after the warm-up (or a replacement's own), under load; final: 10 s before the load stops, under the same load with every client back on its home gateway.",
  );
  lines.push('');
  lines.push('| gateway | process | baseline heap | final heap | heap | baseline RSS | final RSS | RSS | within tolerance |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const c of report.memory) {
    lines.push(
      `| ${c.slot} | ${c.podId} (${sec(c.baseline.atMs)} -> ${sec(c.final.atMs)}) | ${mib(c.baseline.heapUsed)} | ${mib(c.final.heapUsed)} | ${pct(c.heapGrowth)} | ${mib(c.baseline.rss)} | ${mib(c.final.rss)} | ${pct(c.rssGrowth)} | ${c.ok ? 'yes' : '**no**'} |`,
    );
  }
  lines.push('');
  lines.push('Every gateway process of the run:');
  lines.push('');
  lines.push('| gateway | process | pid | from | to | how it ended | baseline heap / RSS |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const life of report.gatewayLives) {
    lines.push(
      `| ${life.slot} | ${life.podId} | ${life.pid} | ${sec(life.startedAtMs)} | ${life.endedAtMs === null ? '-' : sec(life.endedAtMs)} | ${life.how} | ${life.baseline ? `${mib(life.baseline.heapUsed)} / ${mib(life.baseline.rss)}` : '-'} |`,
    );
  }
  lines.push('');
  lines.push('## Latency and traffic');
  const c = report.clients;
  lines.push('Latency spikes at the memory measures are the measure itself: a forced full GC through the inspector stops that gateway for a moment.');
  lines.push('');
  lines.push(
    `Set -> delivery to another client, over the whole run (faults included): p50 ${ms(c.latency.p50Ms)}, p99 ${ms(c.latency.p99Ms)}, p99.9 ${ms(c.latency.p999Ms)}, max ${ms(c.latency.maxMs)}; ${c.setsSent.toLocaleString('en')} sets sent, ${c.deliveries.toLocaleString('en')} deliveries measured, ${c.badFrames} unreadable frames. Churn: ${Object.entries(
      c.churn,
    )
      .map(([k, v]) => `${v} ${k}s`)
      .join(', ')}.`,
  );
  lines.push('');
  lines.push(
    `Close codes well-behaved clients got (each followed by a reconnect): ${
      Object.entries(c.closes)
        .map(([code, n]) => `${code} x ${n}`)
        .join(', ') || 'none'
    }.`,
  );
  lines.push('');
  lines.push(
    'Misbehaving clients, each from an address of its own ("disrupted": its gateway was drained or killed, or Redis restarted, while it was open, so 1006, 1011 or 1012 was right too):',
  );
  lines.push('');
  lines.push('| misbehaving client | started | close codes seen | disrupted | unexpected | never closed |');
  lines.push('|---|---|---|---|---|---|');
  for (const [name, b] of Object.entries(report.bad)) {
    lines.push(
      `| ${name} | ${b.started} | ${Object.entries(b.codes)
        .map(([code, n]) => `${code} x ${n}`)
        .join(', ')} | ${b.disrupted} | ${b.unexpected} | ${b.stuck} |`,
    );
  }
  lines.push('');
  lines.push('## At the end: clients and Redis');
  lines.push(
    `- Convergence: ${report.convergence.diverged.length === 0 ? `every client of the ${report.convergence.rooms} rooms showed the values Redis holds, and each room's last set reached every member.` : `${report.convergence.diverged.length} views differed.`}`,
  );
  lines.push(
    `- Redis audit: ${report.audit.ok ? 'exact' : `${report.audit.problems.length} problems`}. Found: ${Object.entries(report.audit.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}.`,
  );
  lines.push('');
  lines.push(
    '| gateway at the end | ' +
      Object.keys(Object.values(report.gatewayMetrics)[0] ?? {})
        .map((k) => k.replace('cloudvars_', ''))
        .join(' | ') +
      ' |',
  );
  lines.push(
    '|---|' +
      Object.keys(Object.values(report.gatewayMetrics)[0] ?? {})
        .map(() => '---')
        .join('|') +
      '|',
  );
  for (const [pod, metrics] of Object.entries(report.gatewayMetrics))
    lines.push(
      `| ${pod} | ${Object.values(metrics)
        .map((v) => String(v))
        .join(' | ')} |`,
    );
  lines.push('');
  lines.push('## Timeline');
  lines.push('');
  lines.push('| # | at | event |');
  lines.push('|---|---|---|');
  for (const [i, e] of report.events.entries()) lines.push(`| ${i + 1} | ${sec(e.tMs)} | ${e.label} |`);
  if (report.failures.length > 0) {
    lines.push('');
    lines.push('## Failures');
    for (const failure of report.failures) lines.push(`- ${failure}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Writes `<dir>/<name>.md`, `.svg` and `.json`; returns the markdown's path. */
export function writeReport(report: SoakReport, dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const svg = `${name}.svg`;
  writeFileSync(join(dir, svg), renderPlot(report));
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(report, null, 1) + '\n');
  const md = join(dir, `${name}.md`);
  writeFileSync(md, renderMarkdown(report, svg));
  return md;
}
