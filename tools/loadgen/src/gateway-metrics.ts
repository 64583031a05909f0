/**
 * The gateways' own counters from GET /metrics (Prometheus text), summed over labels and
 * over gateways: how many messages and frames they wrote (batching), and heap in use.
 */

/** Metric name -> value summed over every label set. Comments and malformed lines are skipped. */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    const value = Number(match[2]);
    if (!Number.isFinite(value)) continue;
    out.set(match[1], (out.get(match[1]) ?? 0) + value);
  }
  return out;
}

/** The gateway's default METRICS_PORT is its PORT plus this (README, settings). */
const METRICS_PORT_OFFSET = 10_000;

/** http://host:metrics-port/metrics for a gateway's ws:// URL, the gateway's METRICS_PORT left at its default. */
export function metricsUrl(wsUrl: string): string {
  const u = new URL(wsUrl);
  const secure = u.protocol === 'wss:';
  const port = u.port === '' ? (secure ? 443 : 80) : Number(u.port);
  u.protocol = secure ? 'https:' : 'http:';
  u.port = String(port + METRICS_PORT_OFFSET);
  u.pathname = '/metrics';
  u.search = '';
  return u.toString();
}

/** Summed metrics of all gateways, or undefined when any of them does not answer. */
export async function scrapeAll(wsUrls: readonly string[]): Promise<Map<string, number> | undefined> {
  const sum = new Map<string, number>();
  for (const url of new Set(wsUrls)) {
    let text: string;
    try {
      const res = await fetch(metricsUrl(url));
      if (!res.ok) return undefined;
      text = await res.text();
    } catch (err) {
      process.stderr.write(`[loadgen] no metrics from ${metricsUrl(url)}: ${(err as Error).message}\n`);
      return undefined;
    }
    for (const [name, value] of parsePrometheus(text)) sum.set(name, (sum.get(name) ?? 0) + value);
  }
  return sum;
}

/** end - start of one metric, or null when either scrape is missing. */
export function delta(start: Map<string, number> | undefined, end: Map<string, number> | undefined, name: string): number | null {
  const a = start?.get(name);
  const b = end?.get(name);
  return a === undefined || b === undefined ? null : b - a;
}
