/**
 * What a soak run does, scaled by its duration: how many gateways, clients and rooms, how
 * much load and churn, when the faults come, and the gateway settings it runs with.
 */

export interface SoakOptions {
  /** From the moment every client first joined to the end of the load. */
  readonly durationMs: number;
  readonly gateways: number;
  /** Well-behaved clients: they stay (leaving and coming back) for the whole run. */
  readonly clients: number;
  readonly rooms: number;
  /** Mean pause between two sets of one client. */
  readonly setIntervalMs: number;
  /** Leaves, page reloads and room changes, per second, over all clients. */
  readonly churnPerSecond: number;
  /** Misbehaving clients started per second. */
  readonly badPerSecond: number;
  /** Before the baselines: load and churn run, no fault yet. */
  readonly warmupMs: number;
  /** A replacement gateway's own warm-up before its baseline. */
  readonly gatewayWarmupMs: number;
  /** Faults (drain, SIGKILL, Redis restart, Redis SIGKILL) repeat with this period. */
  readonly faultPeriodMs: number;
  /** No fault after `durationMs - quietMs`: the run settles before the final measures. */
  readonly quietMs: number;
  /** Memory and latency samples. */
  readonly sampleEveryMs: number;
  /** Where to write the report (markdown, SVG plot, JSON), or null. */
  readonly outDir: string | null;
  /** A name for the report's files. */
  readonly label: string;
  /** Allowed memory growth from baseline to end, as a fraction (0.1: 10 %). */
  readonly memoryTolerance: number;
  readonly log: (line: string) => void;
}

/** Gateway settings of a soak: short timers, so a run of minutes sees many lease periods. */
export const SOAK_GATEWAY_ENV: Readonly<Record<string, string>> = {
  LEASE_TTL_MS: '6000',
  ROOM_TTL_SECONDS: '30',
  // Shorter than ROOM_TTL_SECONDS, as by default (room-ttl-order.test.ts: the other way round is a bug).
  UNTOUCHED_ROOM_TTL_SECONDS: '15',
  ROOM_LINGER_MS: '2000',
  HANDSHAKE_TIMEOUT_MS: '3000',
  PING_INTERVAL_MS: '5000',
  MAX_PAYLOAD_BYTES: '65536',
  // Clients come from many addresses (X-Forwarded-For), as behind a load balancer. The
  // per-address limits are the defaults (MAX_CONNECTIONS_PER_ADDRESS 1000, 1000 new rooms a
  // minute, 100 handshakes a second, MAX_STORED_BYTES_PER_ADDRESS 512 MiB): a soak is a
  // production-shaped run, and two clients per address are far inside them.
  TRUST_PROXY: 'true',
  DRAIN_BATCH_SIZE: '50',
  SHUTDOWN_TIMEOUT_MS: '10000',
};

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`CV_ERR_SOAK_ARGS: a duration is a number with ms, s, m or h (default s), got ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Math.round(Number(match[1]) * unit);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/** Defaults for a run of `durationMs`: a short CI run is lighter and its faults come sooner. */
export function defaultOptions(durationMs: number, overrides: Partial<SoakOptions> = {}): SoakOptions {
  const long = durationMs >= 10 * 60_000;
  const base: SoakOptions = {
    durationMs,
    gateways: 3,
    clients: long ? 600 : 150,
    rooms: long ? 120 : 30,
    setIntervalMs: 2_000,
    churnPerSecond: long ? 4 : 2,
    badPerSecond: long ? 2 : 1,
    warmupMs: long ? 120_000 : 20_000,
    gatewayWarmupMs: long ? 60_000 : 20_000,
    faultPeriodMs: long ? 300_000 : durationMs,
    quietMs: long ? 180_000 : 40_000,
    sampleEveryMs: long ? 10_000 : 2_000,
    outDir: null,
    label: `soak-${formatDuration(durationMs)}`,
    memoryTolerance: 0.1,
    log: (line) => process.stderr.write(`[soak] ${line}\n`),
  };
  return { ...base, ...overrides };
}
