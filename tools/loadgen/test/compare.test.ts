import { describe, expect, it } from 'vitest';
import { compareSchedule, TARGETS, type CompareRun, type TargetId } from '../src/bench/compare.ts';
import {
  deliveryVerdict,
  evaluate,
  ratio,
  RATIO_TARGETS,
  renderCompare,
  serverUsPerPair,
  serverUsPerFrame,
  summaryTable,
  withRedisUsPerPair,
} from '../src/bench/compare-results.ts';
import { COMPARE_SCENARIOS, quickCompare } from '../src/bench/scenarios.ts';
import type { LoadReport } from '../src/report.ts';

const [A, B, C] = COMPARE_SCENARIOS;
if (!A || !B || !C) throw new Error('the comparison has scenarios a, b and c');

/** A load report with the fields the comparison reads. */
function loadReport(o: { cpu: number; redis?: number; expected: number; p99: number; allDelivered?: boolean; closes?: Record<string, number> }): LoadReport {
  const latencyMs = { p50: o.p99 / 4, p99: o.p99, max: o.p99 * 2, mean: o.p99 / 3 };
  return {
    mode: 'load',
    dialect: 'scratch',
    values: 'number',
    runId: 'x',
    gateways: 1,
    clients: 10,
    rooms: 1,
    workers: 1,
    ratePerClient: 5,
    variables: 10,
    join: { joined: 10, failed: 0, errors: [], seconds: 1, perSecond: 10, latencyMs, gatewayCpuUsPerJoin: null },
    load: {
      windowSeconds: 20,
      sent: o.expected / 9,
      setsPerSecond: 1,
      expected: o.expected,
      delivered: o.expected,
      superseded: 0,
      lost: 0,
      unaccounted: 0,
      deliveredRatio: 1,
      deliveriesPerSecond: 1,
      roomsConverged: 1,
      allDelivered: o.allDelivered ?? true,
      outsideWindow: 0,
      echoes: 0,
      reordered: 0,
      unstamped: 0,
      latencyMs,
      gatewayCpuSeconds: o.cpu,
      gatewayCpuUsPerDelivery: null,
      redisCpuSeconds: o.redis ?? 0,
      redisCpuUsPerSet: null,
      windowMonotonicUs: [0, 1],
      otherCpuSeconds: 0,
      gatewayMessagesOut: null,
      gatewayFramesOut: null,
      framesReceived: 10,
      updatesPerFrameReceived: 2,
    },
    idle: null,
    closes: o.closes ?? {},
    gatewayProcs: [{ pid: 1, cpuSeconds: o.cpu, rssStartBytes: 0, rssEndBytes: 0 }],
    redisProcs: o.redis === undefined ? [] : [{ pid: 2, cpuSeconds: o.redis, rssStartBytes: 0, rssEndBytes: 0 }],
    loadgen: { cpuSeconds: 1, eventLoopDelayP99Ms: 1, eventLoopDelayMaxMs: 1 },
  };
}

function idleReport(bytesPerConnection: number, bytesPerConnectionAfterGc: number | null = null): LoadReport {
  const base = loadReport({ cpu: 0, expected: 0, p99: 0 });
  return {
    ...base,
    mode: 'idle',
    load: null,
    idle: {
      rssBeforeBytes: 0,
      rssAfterJoinBytes: 0,
      rssAfterBytes: 0,
      bytesPerConnection,
      heapBytesPerConnection: null,
      settleSeconds: 20,
      otherCpuSeconds: 0,
      rssAfterGcBytes: bytesPerConnectionAfterGc === null ? null : 0,
      bytesPerConnectionAfterGc,
    },
  };
}

const quiet = { seconds: 20, cores: 0, top: [] };

function run(scenario: string, repetition: number, target: TargetId, report: LoadReport): CompareRun {
  return { scenario, repetition, target, report, loadAvgBefore: 1, loadAvgAfter: 1, other: quiet };
}

describe('pnpm bench --peer: the schedule', () => {
  it('runs every target in every repetition, each repetition in the reverse order of the one before', () => {
    const plan = compareSchedule([A, C], 3);
    expect(plan).toHaveLength(2 * 3 * 3);
    const order = (scenario: string, repetition: number): TargetId[] =>
      plan.filter((p) => p.scenario.id === scenario && p.repetition === repetition).map((p) => p.target);
    expect(order('a', 1)).toEqual([...TARGETS]);
    expect(order('a', 2)).toEqual([...TARGETS].reverse());
    expect(order('a', 3)).toEqual([...TARGETS]);
    // Scenarios one after the other: a's repetitions, then c's.
    expect(plan.slice(0, 9).every((p) => p.scenario.id === 'a')).toBe(true);
  });

  it('compares in the scratch dialect with one writer per variable, and --quick keeps the shapes', () => {
    for (const s of COMPARE_SCENARIOS) expect(s.variables).toBe(s.clientsPerRoom);
    expect(quickCompare(B)).toMatchObject({ clientsPerRoom: 50, rate: 4, rooms: 4 });
  });
});

describe('pnpm bench --peer: ratios and targets', () => {
  // (a): peer 10 us per pair; ours in memory 12, gateway with Redis 7 (+ Redis 4); 9,000 pairs each run.
  const runs: CompareRun[] = [
    run('a', 1, 'peer', loadReport({ cpu: 0.09, expected: 9000, p99: 40 })),
    run('a', 1, 'ours-memory', loadReport({ cpu: 0.108, expected: 9000, p99: 30 })),
    run('a', 1, 'ours-redis', loadReport({ cpu: 0.063, redis: 0.036, expected: 9000, p99: 50 })),
    run('a', 2, 'ours-redis', loadReport({ cpu: 0.063, redis: 0.036, expected: 9000, p99: 30 })),
    run('a', 2, 'ours-memory', loadReport({ cpu: 0.108, expected: 9000, p99: 30 })),
    run('a', 2, 'peer', loadReport({ cpu: 0.09, expected: 9000, p99: 40 })),
    run('c', 1, 'peer', idleReport(10_000, 5_120)),
    run('c', 1, 'ours-memory', idleReport(7_000, 4_096)),
    run('c', 1, 'ours-redis', idleReport(9_000, 4_608)),
  ];

  it('shows idle memory after a full GC beside the settled figure, as ours/peer; targets stay on the settled figure', () => {
    const table = summaryTable(runs, [A, C]);
    expect(table).toContain('(c) the same after a full GC');
    // The peer's row: 10,000 B settled, 5,120 B after the GC.
    expect(table).toContain('| 9.8 KiB | 5.0 KiB |');
    expect(table).toContain('0.90x the peer (4.5 KiB)');
    expect(ratio(runs, 'c', 'ours-memory', 'idleAfterGc')?.ratio).toBeCloseTo(0.8);
  });

  it('divides CPU by (set x recipient), with and without Redis, and by the frames the clients received', () => {
    const r = runs[2]?.report;
    if (!r) throw new Error('missing run');
    expect(serverUsPerPair(r)).toBeCloseTo(7);
    // 0.063 s of gateway CPU over the fixture's 10 frames.
    expect(serverUsPerFrame(r)).toBeCloseTo(6300);
    expect(serverUsPerFrame(runs[6]?.report ?? r)).toBeNull();
    expect(withRedisUsPerPair(r)).toBeCloseTo(11);
    expect(withRedisUsPerPair(runs[0]?.report ?? r)).toBeNull();
  });

  it("gives ours/peer per target, and marks each of the bench's targets met or missed", () => {
    expect(ratio(runs, 'a', 'ours-memory', 'cpu')?.ratio).toBeCloseTo(1.2);
    expect(ratio(runs, 'a', 'ours-redis', 'cpuRedis', 'cpu')?.ratio).toBeCloseTo(1.1);
    expect(ratio(runs, 'a', 'ours-redis', 'p99')).toMatchObject({ min: 0.75, max: 1.25 });
    const verdict = (label: string): string[] => {
      const t = RATIO_TARGETS.find((x) => x.label.startsWith(label));
      if (!t) throw new Error(`no target ${label}`);
      return evaluate(runs, [A, C], t).map((c) => `${c.scenario} ${c.verdict}`);
    };
    expect(verdict('gateway with Redis: CPU')).toEqual(['a met']); // 0.7x <= 0.8x
    expect(verdict('gateway + Redis')).toEqual(['a MISSED']); // 1.1x > 1.0x
    expect(verdict('one node in memory: CPU')).toEqual(['a MISSED']); // 1.2x > 0.7x
    expect(verdict('gateway with Redis: p99')).toEqual(['a met']); // mean 40 / 40
    expect(verdict('idle memory per connection, one node')).toEqual(['c met']); // 0.7x
    expect(verdict('idle memory per connection, gateway')).toEqual(['c MISSED']); // 0.9x
  });

  it('requires delivery in every repetition, and counts no cost target met where a server fell behind', () => {
    const failing = runs.map((r) =>
      r.scenario === 'a' && r.repetition === 2 && r.target === 'ours-redis'
        ? run('a', 2, 'ours-redis', loadReport({ cpu: 0.063, redis: 0.036, expected: 9000, p99: 30, allDelivered: false }))
        : r.scenario === 'a' && r.repetition === 2 && r.target === 'peer'
          ? run('a', 2, 'peer', loadReport({ cpu: 0.09, expected: 9000, p99: 40, closes: { 4000: 1 } }))
          : r,
    );
    expect(deliveryVerdict(runs, 'a', 'ours-redis')).toBe('met');
    expect(deliveryVerdict(failing, 'a', 'ours-memory')).toBe('met');
    expect(deliveryVerdict(failing, 'a', 'ours-redis')).toBe('MISSED');
    expect(deliveryVerdict(failing, 'a', 'peer')).toBe('MISSED');
    expect(deliveryVerdict(failing, 'c', 'peer')).toBe('-');
    const cpu = RATIO_TARGETS.find((t) => t.label.startsWith('gateway with Redis: CPU'));
    if (!cpu) throw new Error('no CPU target');
    // 0.7x would meet 0.8x, but ours with Redis did not deliver everything.
    const [cell] = evaluate(failing, [A], cpu);
    expect(cell).toMatchObject({ scenario: 'a', verdict: 'MISSED', deliveryFailed: true });
    expect(cell?.ratio?.ratio).toBeCloseTo(0.7);
    const floor = { clients: 1, frames: 1, usPerFrame: 17, systemUsPerFrame: 8 };
    const machine = { hostname: 'h', cpuModel: 'cpu', cores: 2, memoryGiB: 1, node: 'v20', redis: '7', commit: 'abc', kernel: 'k' };
    const text = renderCompare(machine, [A], failing, {
      date: '2026-12-01',
      quick: false,
      repetitions: 2,
      warmupSeconds: 5,
      durationSeconds: 20,
      idleSeconds: 20,
      floor,
    });
    expect(text).toContain("**Delivery failed** in (a) peer (TurboWarp's server, memory); (a) ours, gateway with Redis");
    expect(text).toContain('0.70x MISSED (delivery failed: not a steady state)');
  });

  it('writes the summary, the targets and every run, leaving profiled runs out of the comparison', () => {
    const profiled: CompareRun = {
      ...run('a', 1, 'ours-redis', loadReport({ cpu: 1, expected: 9000, p99: 1 })),
      profile: { samples: 10, functions: [], modules: [], categories: [{ name: 'client sockets: write system calls', share: 0.5 }], inclusive: [] },
    };
    expect(summaryTable([...runs, profiled], [A, C])).toContain('0.70x the peer (7.00 us)');
    const floor = { clients: 1, frames: 1, usPerFrame: 17, systemUsPerFrame: 8 };
    const machine = { hostname: 'h', cpuModel: 'cpu', cores: 2, memoryGiB: 1, node: 'v20', redis: '7', commit: 'abc', kernel: 'k' };
    const text = renderCompare(machine, [A, C], [...runs, profiled], {
      date: '2026-12-01',
      quick: false,
      repetitions: 2,
      warmupSeconds: 5,
      durationSeconds: 20,
      idleSeconds: 20,
      floor,
      gatewayEnv: { FLUSH_INTERVAL_MS: '16' },
    });
    expect(text).toContain('Our gateways ran with `FLUSH_INTERVAL_MS=16` (the peer with its defaults)');
    expect(text).toContain('| gateway + Redis: CPU per (set x recipient) | 1.10x MISSED |');
    expect(text).toContain('client sockets: write system calls | - | - | 50.0% / 55.56');
    expect(text.match(/^\| \d+ \| \(/gm)).toHaveLength(runs.length + 1);
  });
});
