/** The result of one run: a JSON-able object, and a readable table of it. */
import type { DialectName } from '@cloudvars/protocol';
import type { ProcDelta } from './proc-stats.ts';
import type { LoadMode } from './plan.ts';
import type { ValueKind } from './wire.ts';

export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface LoadReport {
  readonly mode: LoadMode;
  readonly dialect: DialectName;
  readonly values: ValueKind;
  readonly runId: string;
  readonly gateways: number;
  readonly clients: number;
  readonly rooms: number;
  readonly workers: number;
  readonly ratePerClient: number;
  readonly variables: number;
  readonly join: {
    readonly joined: number;
    readonly failed: number;
    readonly errors: readonly string[];
    readonly seconds: number;
    readonly perSecond: number;
    readonly latencyMs: LatencySummary;
    /** Gateway CPU (all gateways) per successful handshake during the join phase. */
    readonly gatewayCpuUsPerJoin: number | null;
  };
  /** Null outside load mode. */
  readonly load: {
    readonly windowSeconds: number;
    readonly sent: number;
    readonly setsPerSecond: number;
    /** Sets in the window x (open members of the room - 1). */
    readonly expected: number;
    /** Received by the member (see ledger.ts for the three buckets). */
    readonly delivered: number;
    /** Not received, but a newer value of the variable was (the protocol's coalescing). */
    readonly superseded: number;
    /** Not received, and the room's final state did not converge. */
    readonly lost: number;
    /** Pairs whose receiver closed mid-run. */
    readonly unaccounted: number;
    readonly deliveredRatio: number;
    readonly deliveriesPerSecond: number;
    readonly roomsConverged: number;
    /** Nothing lost or unaccounted, nothing reordered, every room converged. */
    readonly allDelivered: boolean;
    readonly outsideWindow: number;
    readonly echoes: number;
    readonly reordered: number;
    readonly unstamped: number;
    readonly latencyMs: LatencySummary;
    readonly gatewayCpuSeconds: number;
    readonly gatewayCpuUsPerDelivery: number | null;
    readonly redisCpuSeconds: number;
    readonly redisCpuUsPerSet: number | null;
    /** The window on the host's monotonic clock, to cut a gateway CPU profile to it. */
    readonly windowMonotonicUs: readonly [number, number];
    /**
     * CPU the whole machine spent in the window beyond the measured gateways, Redis and
     * generator workers (kernel softirq work for them included): other work competing.
     */
    readonly otherCpuSeconds: number;
    /** From the gateways' /metrics over the window (null when not scraped): messages/frames = batching. */
    readonly gatewayMessagesOut: number | null;
    readonly gatewayFramesOut: number | null;
    /** Frames the clients received in the window and the updates in them (any server: its batching). */
    readonly framesReceived: number;
    readonly updatesPerFrameReceived: number | null;
  } | null;
  /** Null outside idle mode. */
  readonly idle: {
    readonly rssBeforeBytes: number;
    /** Right after the last join, before settling. */
    readonly rssAfterJoinBytes: number;
    /** After settling (the measured value). */
    readonly rssAfterBytes: number;
    readonly bytesPerConnection: number | null;
    /** The settle period (s) and the machine's CPU outside the measured servers in it. */
    readonly settleSeconds: number;
    readonly otherCpuSeconds: number;
    /** V8 heap in use per connection, from the gateways' /metrics; null when not scraped. */
    readonly heapBytesPerConnection: number | null;
    /** After a full GC the gateways ran on `gcSignal` (what the connections keep alive, without their joins' garbage); null without one. */
    readonly rssAfterGcBytes: number | null;
    readonly bytesPerConnectionAfterGc: number | null;
  } | null;
  /** Close codes of client sockets the generator did not close itself ('bad-frame' for parse failures). */
  readonly closes: Readonly<Record<string, number>>;
  /** Per process, over the measured window (load), the join phase (join-storm) or the whole run (idle). */
  readonly gatewayProcs: readonly ProcDelta[];
  readonly redisProcs: readonly ProcDelta[];
  readonly loadgen: {
    readonly cpuSeconds: number;
    readonly eventLoopDelayP99Ms: number;
    readonly eventLoopDelayMaxMs: number;
  };
}

const fmt = (n: number | null, digits = 1): string => (n === null ? '-' : n.toFixed(digits));
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);

/** Two-column table for humans; the JSON line is the machine-readable form. */
export function formatTable(r: LoadReport): string {
  const rows: Array<[string, string]> = [
    [
      'mode',
      `${r.mode}, ${r.dialect} dialect${r.values === 'number' ? ' (number values)' : ''} (${r.clients} clients, ${r.rooms} rooms, ${r.gateways} gateway(s), ${r.workers} worker(s))`,
    ],
    ['joined / failed', `${int(r.join.joined)} / ${int(r.join.failed)}`],
    ['joins/s', `${fmt(r.join.perSecond, 0)} (p50 ${fmt(r.join.latencyMs.p50, 2)} ms, p99 ${fmt(r.join.latencyMs.p99, 2)} ms)`],
    ['gateway CPU per join', `${fmt(r.join.gatewayCpuUsPerJoin)} us`],
  ];
  if (r.load) {
    const l = r.load;
    rows.push(
      ['window', `${fmt(l.windowSeconds)} s at ${r.ratePerClient} sets/s per client`],
      ['sets sent', `${int(l.sent)} (${fmt(l.setsPerSecond, 0)}/s)`],
      ['delivered / expected', `${int(l.delivered)} / ${int(l.expected)} (${(l.deliveredRatio * 100).toFixed(3)}%)`],
      ['superseded / lost / unaccounted', `${int(l.superseded)} / ${int(l.lost)} / ${int(l.unaccounted)}`],
      ['rooms converged', `${int(l.roomsConverged)} / ${int(r.rooms)}`],
      ['all delivered', l.allDelivered ? 'yes' : 'NO'],
      ['deliveries/s', fmt(l.deliveriesPerSecond, 0)],
      ['latency p50 / p99 / max', `${fmt(l.latencyMs.p50, 2)} / ${fmt(l.latencyMs.p99, 2)} / ${fmt(l.latencyMs.max, 2)} ms`],
      ['gateway CPU', `${fmt(l.gatewayCpuSeconds, 2)} s = ${fmt(l.gatewayCpuUsPerDelivery, 2)} us per delivery`],
      ['redis CPU', `${fmt(l.redisCpuSeconds, 2)} s = ${fmt(l.redisCpuUsPerSet, 2)} us per set`],
      ['reordered / echoes', `${int(l.reordered)} / ${int(l.echoes)}`],
      ['updates per frame received', `${fmt(l.updatesPerFrameReceived, 2)} (${int(l.framesReceived)} frames in the window)`],
      [
        'gateway messages / frames out',
        l.gatewayMessagesOut === null || l.gatewayFramesOut === null ? '-' : `${int(l.gatewayMessagesOut)} / ${int(l.gatewayFramesOut)}`,
      ],
    );
  }
  if (r.idle) {
    rows.push(
      ['gateway RSS before / joined / settled', `${mib(r.idle.rssBeforeBytes)} / ${mib(r.idle.rssAfterJoinBytes)} / ${mib(r.idle.rssAfterBytes)} MiB`],
      ['RSS per connection', `${fmt(r.idle.bytesPerConnection === null ? null : r.idle.bytesPerConnection / 1024, 2)} KiB`],
      ['heap per connection', `${fmt(r.idle.heapBytesPerConnection === null ? null : r.idle.heapBytesPerConnection / 1024, 2)} KiB`],
      ['RSS per connection after a full GC', `${fmt(r.idle.bytesPerConnectionAfterGc === null ? null : r.idle.bytesPerConnectionAfterGc / 1024, 2)} KiB`],
    );
  }
  for (const p of r.gatewayProcs) rows.push([`gateway pid ${p.pid}`, `${fmt(p.cpuSeconds, 2)} s CPU, RSS ${mib(p.rssEndBytes)} MiB`]);
  for (const p of r.redisProcs) rows.push([`redis pid ${p.pid}`, `${fmt(p.cpuSeconds, 2)} s CPU, RSS ${mib(p.rssEndBytes)} MiB`]);
  rows.push(
    ['loadgen CPU', `${fmt(r.loadgen.cpuSeconds, 2)} s, loop delay p99 ${fmt(r.loadgen.eventLoopDelayP99Ms, 2)} ms`],
    ['unexpected closes', Object.keys(r.closes).length === 0 ? 'none' : JSON.stringify(r.closes)],
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
