/**
 * The soak's plot as an SVG, written by hand (no plotting dependency): gateway memory
 * (RSS, and heap in use as the gateways report it) and Redis's memory over time, and set
 * -> delivery latency (p50, p99, max per sample interval, log scale) over time, with the
 * run's events (drains, kills, Redis restarts, measures) as numbered vertical lines.
 */
import type { SoakReport } from './soak.ts';

interface Series {
  readonly name: string;
  readonly color: string;
  readonly dash?: string;
  readonly width?: number;
  /** Runs of points; a gap (a gateway replaced) starts a new run. */
  readonly runs: ReadonlyArray<ReadonlyArray<readonly [number, number]>>;
}

const WIDTH = 1000;
const PANEL_HEIGHT = 260;
const LEFT = 70;
const RIGHT = 20;
const SLOT_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#8c564b', '#e377c2'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round steps (1, 2, 5 x 10^n) covering [0, max] in about `count` ticks. */
function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [0];
  // Up to the first tick at or above max, so the axis covers every value.
  while ((ticks.at(-1) ?? 0) < max) ticks.push(Number(((ticks.at(-1) ?? 0) + step).toPrecision(12)));
  return ticks;
}

function formatNumber(v: number): string {
  if (v >= 1000) return `${Math.round(v / 100) / 10}k`.replace('.0k', 'k');
  if (v >= 10 || v === 0) return String(Math.round(v));
  return String(Number(v.toPrecision(2)));
}

interface Panel {
  readonly top: number;
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly log: boolean;
}

function drawPanel(panel: Panel, durationMs: number, events: SoakReport['events']): string {
  const { top, series, log } = panel;
  const width = WIDTH - LEFT - RIGHT;
  const height = PANEL_HEIGHT - 60;
  const plotTop = top + 30;
  const values = series.flatMap((s) => s.runs.flatMap((run) => run.map(([, v]) => v))).filter((v) => Number.isFinite(v) && (!log || v > 0));
  const maxValue = values.length > 0 ? Math.max(...values) : 1;
  const minValue = log ? Math.max(Math.min(...(values.length > 0 ? values : [1])), 0.1) : 0;
  const logMin = Math.floor(Math.log10(minValue));
  const logMax = Math.max(logMin + 1, Math.ceil(Math.log10(maxValue)));
  const linearTicks = niceTicks(maxValue * 1.05);
  const yMax = log ? logMax : (linearTicks.at(-1) ?? 1);
  const x = (tMs: number): number => LEFT + (Math.max(0, tMs) / durationMs) * width;
  const y = (v: number): number => {
    const fraction = log ? (Math.log10(Math.max(v, 10 ** logMin)) - logMin) / (logMax - logMin) : v / (yMax || 1);
    return plotTop + height - fraction * height;
  };
  const out: string[] = [];
  out.push(`<text x="${LEFT}" y="${top + 18}" font-size="15" font-weight="bold">${escape(panel.title)}</text>`);
  out.push(`<rect x="${LEFT}" y="${plotTop}" width="${width}" height="${height}" fill="#fafafa" stroke="#999"/>`);
  const yTicks = log ? Array.from({ length: logMax - logMin + 1 }, (_, i) => 10 ** (logMin + i)) : linearTicks;
  for (const tick of yTicks) {
    const ty = y(tick);
    out.push(`<line x1="${LEFT}" x2="${LEFT + width}" y1="${ty}" y2="${ty}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${LEFT - 6}" y="${ty + 4}" font-size="11" text-anchor="end">${formatNumber(tick)}</text>`);
  }
  out.push(
    `<text x="${16}" y="${plotTop + height / 2}" font-size="12" transform="rotate(-90 16 ${plotTop + height / 2})" text-anchor="middle">${escape(panel.yLabel)}</text>`,
  );
  // Time axis: minutes for long runs, seconds for short ones.
  const minutes = durationMs >= 5 * 60_000;
  const unit = minutes ? 60_000 : 1000;
  for (const tick of niceTicks(durationMs / unit, 10).filter((t) => t * unit <= durationMs)) {
    const tx = x(tick * unit);
    out.push(`<line x1="${tx}" x2="${tx}" y1="${plotTop + height}" y2="${plotTop + height + 4}" stroke="#666"/>`);
    const anchor = tx > LEFT + width - 20 ? 'end' : 'middle';
    out.push(`<text x="${tx}" y="${plotTop + height + 16}" font-size="11" text-anchor="${anchor}">${formatNumber(tick)}${minutes ? ' min' : ' s'}</text>`);
  }
  for (const [index, e] of events.entries()) {
    const ex = x(e.tMs);
    out.push(`<line x1="${ex}" x2="${ex}" y1="${plotTop}" y2="${plotTop + height}" stroke="#bbb" stroke-dasharray="3,3"/>`);
    out.push(`<text x="${ex + 2}" y="${plotTop + 10 + (index % 3) * 10}" font-size="9" fill="#777">${index + 1}</text>`);
  }
  for (const s of series) {
    for (const run of s.runs) {
      const points = run.filter(([, v]) => Number.isFinite(v) && (!log || v > 0)).map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      if (points.length === 0) continue;
      if (points.length === 1) {
        const [px, py] = (points[0] as string).split(',');
        out.push(`<circle cx="${px}" cy="${py}" r="2" fill="${s.color}"/>`);
        continue;
      }
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.5}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${points.join(' ')}"/>`,
      );
    }
  }
  // Legend, under the plot.
  let lx = LEFT;
  const ly = plotTop + height + 34;
  for (const s of series) {
    out.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
    );
    out.push(`<text x="${lx + 22}" y="${ly}" font-size="11">${escape(s.name)}</text>`);
    lx += 30 + s.name.length * 6.2;
  }
  return out.join('\n');
}

export function renderPlot(report: SoakReport): string {
  const { samples, events } = report;
  const durationMs = Math.max(report.options.durationMs, ...samples.map((s) => s.tMs));
  const mib = 2 ** 20;
  const slots = [...new Set(samples.flatMap((s) => s.gateways.map((g) => g.slot)))].sort();
  const memory: Series[] = [];
  for (const slot of slots) {
    const color = SLOT_COLORS[slot % SLOT_COLORS.length] as string;
    const byPod = (key: 'rss' | 'heapUsed'): Array<Array<[number, number]>> => {
      const runs = new Map<string, Array<[number, number]>>();
      for (const sample of samples) {
        const g = sample.gateways.find((gateway) => gateway.slot === slot);
        const value = g?.[key];
        if (!g || value === null || value === undefined || value === 0) continue;
        const run = runs.get(g.podId) ?? [];
        run.push([sample.tMs, value / mib]);
        runs.set(g.podId, run);
      }
      return [...runs.values()];
    };
    memory.push({ name: `gateway ${slot} RSS`, color, runs: byPod('rss') });
    memory.push({ name: `gateway ${slot} heap used`, color, dash: '5,3', width: 1, runs: byPod('heapUsed') });
  }
  memory.push({
    name: 'Redis used_memory',
    color: '#7f7f7f',
    runs: [samples.filter((s) => s.redisUsed !== null).map((s) => [s.tMs, (s.redisUsed as number) / mib] as [number, number])],
  });
  const latency: Series[] = [
    { name: 'p50', color: '#2ca02c', runs: [samples.filter((s) => s.latency.count > 0).map((s) => [s.tMs, s.latency.p50Ms] as [number, number])] },
    { name: 'p99', color: '#ff7f0e', runs: [samples.filter((s) => s.latency.count > 0).map((s) => [s.tMs, s.latency.p99Ms] as [number, number])] },
    {
      name: 'max',
      color: '#d62728',
      dash: '2,2',
      width: 1,
      runs: [samples.filter((s) => s.latency.count > 0).map((s) => [s.tMs, s.latency.maxMs] as [number, number])],
    },
  ];
  const eventLines = events.map((e, i) => `${i + 1}: ${e.label} (${(e.tMs / 1000).toFixed(0)} s)`);
  const legendTop = 2 * PANEL_HEIGHT + 20;
  const height = legendTop + Math.ceil(eventLines.length / 2) * 14 + 20;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    drawPanel(
      { top: 0, title: `Memory (${report.label}, ${report.machine.hostname}, Node ${report.machine.node})`, yLabel: 'MiB', series: memory, log: false },
      durationMs,
      events,
    ),
    drawPanel(
      { top: PANEL_HEIGHT, title: 'Set -> delivery latency per sample interval', yLabel: 'ms (log scale)', series: latency, log: true },
      durationMs,
      events,
    ),
    ...eventLines.map(
      (line, i) =>
        `<text x="${LEFT + (i % 2) * ((WIDTH - LEFT) / 2)}" y="${legendTop + Math.floor(i / 2) * 14}" font-size="10" fill="#555">${escape(line)}</text>`,
    ),
    '</svg>',
  ];
  return parts.join('\n') + '\n';
}
