/**
 * One soak run: a redis-server (AOF) and gateways on loopback; well-behaved clients of every
 * dialect under steady load with churn (leaves, page reloads, room changes) and misbehaving
 * clients; after the warm-up each gateway's memory is measured (after a forced full GC),
 * then faults come every period: a gateway drained (SIGTERM) and another SIGKILLed (both
 * replaced), Redis restarted and Redis SIGKILLed (both restarted from its AOF). Gateway 0
 * is never stopped: it lives through the whole run. At the end:
 * - every gateway's heap (after a full GC) and RSS are within the tolerance of its baseline;
 * - every remaining client shows the values Redis holds, and each room's last set reaches all;
 * - Redis holds exactly the rooms, leases, counters, subscriptions and connections the
 *   remaining clients and gateways explain (audit.ts).
 */
import { fileURLToPath } from 'node:url';
import { loadAverage, machineInfo, type MachineInfo } from '@cloudvars/loadgen';
import type { DialectName } from '@cloudvars/protocol';
import type { RedisProcess } from '@cloudvars/test-support/redis-server';
import { seededRandom } from '@cloudvars/test-support/seeded-random';
import { holdsWithin } from '@cloudvars/test-support/until';
import { Redis } from 'ioredis';
import { auditRedis, type AuditResult } from './audit.ts';
import { GoodClient, newStats, type Balancer, type Room } from './clients.ts';
import {
  badClientOutcomes,
  expectedAddresses,
  expectedRooms,
  gatewayCounters,
  lastSetReachesEveryone,
  memoryBackToBaseline,
  viewsMatchRedis,
  wellBehavedCloses,
  type BadOutcomes,
  type MemoryCheck,
} from './end-checks.ts';
import { Churn, Misbehaving, Sampler, TICK_MS, type LoadContext, type Sample } from './load.ts';
import { SOAK_GATEWAY_ENV, type SoakOptions } from './options.ts';
import { GatewaySlot, startSoakRedis, type GatewayLife } from './processes.ts';

export type { MemoryCheck } from './end-checks.ts';
export type { Sample } from './load.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** loadgen's startGateway names the key prefix after the pod id's first part ("soak"). */
const PREFIX = 'bench-soak:';
const VARIABLES = ['☁ v0', '☁ v1', '☁ v2', '☁ v3'] as const;
/** Clients started per second at the beginning (a page full of players, not a stampede). */
const JOIN_RATE_PER_SECOND = 100;
/** Bad clients that have not closed by then are counted as stuck. */
const BAD_CLIENT_DEADLINE_MS = 30_000;
/** How long every client has to be connected, at the start and again at the end. */
const CONNECT_DEADLINE_MS = 60_000;

export interface SoakReport {
  readonly label: string;
  readonly startedAt: string;
  readonly options: Omit<SoakOptions, 'log' | 'outDir'>;
  readonly seed: number;
  readonly machine: MachineInfo;
  readonly loadAverageEnd: number;
  readonly events: Array<{ tMs: number; label: string }>;
  readonly samples: Sample[];
  readonly memory: MemoryCheck[];
  readonly gatewayLives: Array<GatewayLife & { slot: number }>;
  readonly audit: AuditResult;
  readonly clients: {
    readonly good: number;
    readonly setsSent: number;
    readonly deliveries: number;
    readonly badFrames: number;
    readonly closes: Record<string, number>;
    readonly latency: { p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number };
    readonly churn: Record<string, number>;
  };
  readonly bad: BadOutcomes;
  readonly convergence: { readonly rooms: number; readonly diverged: string[] };
  readonly gatewayMetrics: Record<string, Record<string, number>>;
  readonly failures: string[];
  readonly wallSeconds: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Something the timeline does at `atMs` after the load started. */
interface Step {
  readonly atMs: number;
  readonly run: () => Promise<void>;
}

/** Rooms: half mixed (2020 clients declare the variables, today's set only those), half today's only. */
function planRooms(count: number): Room[] {
  return Array.from({ length: count }, (_, i) => ({
    name: i % 2 === 0 ? `soak-m${i}` : `soak-s${i}`,
    kind: i % 2 === 0 ? ('mixed' as const) : ('scratch' as const),
    variables: VARIABLES,
    members: new Set<GoodClient>(),
  }));
}

const MIXED_DIALECTS: readonly DialectName[] = ['seed', 'legacy', 'scratch'];

/** One run, step by step: `runSoak` calls its steps in order, and `cleanUp` whatever happened. */
class SoakRun {
  private readonly wallStart = performance.now();
  private readonly random: () => number;
  private readonly log: (line: string) => void;
  private readonly failures: string[] = [];
  private readonly events: Array<{ tMs: number; label: string }> = [];
  /** The load's start: event times count from it. */
  private t0 = performance.now();
  private readonly admin: Redis;
  private readonly slots: GatewaySlot[];
  private readonly stats = newStats();
  private readonly rooms: Room[];
  private readonly knownRooms: Set<string>;
  private readonly clients: GoodClient[] = [];
  private stopping = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly churn: Churn;
  private readonly misbehaving: Misbehaving;
  private readonly sampler: Sampler;
  private readonly steps: Step[] = [];
  private finished = false;

  constructor(
    private readonly o: SoakOptions,
    private readonly seed: number,
    private readonly redis: RedisProcess,
  ) {
    this.random = seededRandom(seed);
    this.log = o.log;
    this.admin = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    this.admin.on('error', () => undefined); // down during Redis restarts: samples skip it
    this.slots = Array.from({ length: o.gateways }, (_, i) => new GatewaySlot(i, REPO_ROOT, redis.url, SOAK_GATEWAY_ENV));
    this.rooms = planRooms(o.rooms);
    this.knownRooms = new Set(this.rooms.map((room) => room.name));
    const balancer: Balancer = { pick: (home) => this.pick(home) };
    for (let i = 0; i < o.clients; i++) {
      const room = this.rooms[i % this.rooms.length] as Room;
      const slotInRoom = Math.floor(i / this.rooms.length);
      const dialect = room.kind === 'mixed' ? (MIXED_DIALECTS[slotInRoom % MIXED_DIALECTS.length] as DialectName) : 'scratch';
      const username = dialect === 'scratch' ? `player${i % 40}` : `user${i}`;
      // Two players per address (a household), spread over 10.1.0.0/16.
      const address = `10.1.${(i >> 9) & 255}.${(i >> 1) & 255}`;
      const client = new GoodClient(i + 1, room, dialect, username, address, i % o.gateways, balancer, this.stats, o.setIntervalMs, this.random);
      room.members.add(client);
      this.clients.push(client);
    }
    const context: LoadContext = { random: this.random, now: () => this.now(), stopping: () => this.stopping, timers: this.timers };
    this.churn = new Churn(context, this.clients, this.rooms);
    this.misbehaving = new Misbehaving(context, this.slots);
    this.sampler = new Sampler(context, this.slots, this.admin, this.stats, this.clients);
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  private event(label: string): void {
    this.events.push({ tMs: this.now(), label });
    this.log(`${(this.now() / 1000).toFixed(1)} s: ${label}`);
  }

  /** The balancer: slot `home` if it takes clients, else a random open one. */
  private pick(home: number): { slot: number; url: string } | null {
    const slot = this.slots[home];
    if (slot?.open) return { slot: home, url: slot.url };
    const open = this.slots.filter((s) => s.open);
    const other = open[Math.floor(this.random() * open.length)];
    return other ? { slot: other.index, url: other.url } : null;
  }

  async startGateways(): Promise<void> {
    this.log(`redis ${this.redis.url}; starting ${this.o.gateways} gateways`);
    await Promise.all(this.slots.map((slot) => slot.start(0)));
    this.log(`gateways: ${this.slots.map((s) => `${s.podId} pid ${s.pid} ${s.url}`).join(', ')}`);
  }

  /** The first players: 2020 clients first, so mixed rooms are created with their variables. */
  async connectFirstPlayers(): Promise<void> {
    const ordered = [...this.clients].sort((a, b) => Number(a.dialect === 'scratch') - Number(b.dialect === 'scratch'));
    for (const [i, client] of ordered.entries()) {
      client.connect();
      if (i % JOIN_RATE_PER_SECOND === JOIN_RATE_PER_SECOND - 1) await sleep(1000);
    }
    if (!(await this.allConnectedWithin(CONNECT_DEADLINE_MS))) {
      this.failures.push(`only ${this.clients.filter((c) => c.connected).length} of ${this.clients.length} clients connected at the start`);
    }
    this.t0 = performance.now();
    this.event(`${this.clients.length} clients in ${this.rooms.length} rooms; load starts`);
  }

  private allConnectedWithin(timeoutMs: number): Promise<boolean> {
    return holdsWithin(() => this.clients.every((c) => c.connected), { timeoutMs, intervalMs: 50 });
  }

  /** The steady state: churn, misbehaving clients, samples, each on its timer. */
  startLoad(): void {
    this.timers.push(
      setInterval(() => this.churn.tick(this.o.churnPerSecond), TICK_MS),
      setInterval(() => this.misbehaving.tick(this.o.badPerSecond), TICK_MS),
      setInterval(() => this.sampler.queue(this.log), this.o.sampleEveryMs),
    );
  }

  private async measureBaseline(slot: GatewaySlot): Promise<void> {
    if (!slot.proc) return;
    slot.baseline = await slot.measure(this.now());
    this.event(
      `baseline of ${slot.podId}: heap ${(slot.baseline.heapUsed / 2 ** 20).toFixed(1)} MiB after GC, RSS ${(slot.baseline.rss / 2 ** 20).toFixed(1)} MiB`,
    );
  }

  private async measureFinal(): Promise<void> {
    for (const slot of this.slots) {
      if (!slot.proc) continue;
      slot.final = await slot.measure(this.now());
      this.event(
        `final memory of ${slot.podId}: heap ${(slot.final.heapUsed / 2 ** 20).toFixed(1)} MiB after GC, RSS ${(slot.final.rss / 2 ** 20).toFixed(1)} MiB`,
      );
    }
  }

  private async redisDown(outage: () => Promise<void>): Promise<void> {
    this.misbehaving.redisOutage = true;
    this.misbehaving.disrupt(() => true);
    await outage();
    // Gateways reconnect within their retry backoff; joins in flight meanwhile may still fail.
    this.timers.push(
      setTimeout(() => {
        this.misbehaving.redisOutage = false;
      }, 3_000),
    );
  }

  private async replace(slot: GatewaySlot): Promise<void> {
    await slot.start(this.now());
    this.event(`${slot.podId} started (pid ${slot.pid})`);
    this.timers.push(setTimeout(() => this.churn.rebalance(slot.index), 2_000));
    // Warm-up counts from when the replacement answers, not from when it was asked to start:
    // a start that took 20 s on a loaded machine had its baseline taken 1 s after it was up,
    // before its heap had grown to its working size, and the run failed on "memory grew".
    const baselineAt = this.now() + this.o.gatewayWarmupMs;
    if (baselineAt < this.o.durationMs - 15_000) this.steps.push({ atMs: baselineAt, run: () => this.measureBaseline(slot) });
  }

  private async drain(slot: GatewaySlot): Promise<void> {
    this.event(`drain ${slot.podId} (SIGTERM)`);
    this.misbehaving.disrupt((b) => b.slot === slot.index);
    const code = await slot.drain(() => this.now());
    this.event(`${slot.podId} exited ${code}`);
    if (code !== 0) this.failures.push(`${slot.podId} drained with exit code ${code}`);
    await this.replace(slot);
  }

  private async kill(slot: GatewaySlot): Promise<void> {
    this.event(`SIGKILL ${slot.podId}`);
    this.misbehaving.disrupt((b) => b.slot === slot.index);
    await slot.kill(() => this.now());
    await this.replace(slot);
  }

  private async restartRedis(): Promise<void> {
    this.event('restart Redis (SIGTERM)');
    await this.redisDown(() => this.redis.restart());
    this.event('Redis back');
  }

  private async killRedis(): Promise<void> {
    this.event('SIGKILL Redis');
    await this.redisDown(async () => {
      await this.redis.stop('SIGKILL');
      await this.redis.restart();
    });
    this.event('Redis back from its AOF');
  }

  /**
   * The timeline: baselines after the warm-up; every fault period a drain, a SIGKILL and two
   * Redis outages; in the quiet end, every client back home (the population of the
   * baselines) before the final measures.
   */
  private planTimeline(): void {
    const { o, slots } = this;
    const quietFrom = o.durationMs - o.quietMs;
    this.steps.push({
      atMs: o.warmupMs,
      run: async () => {
        for (const slot of slots) await this.measureBaseline(slot);
      },
    });
    for (let cycle = o.warmupMs + 5_000; cycle < quietFrom; cycle += o.faultPeriodMs) {
      const drainSlot = slots[1 % o.gateways] as GatewaySlot;
      const killSlot = slots[2 % o.gateways] as GatewaySlot;
      const planned: Step[] = [
        { atMs: cycle, run: () => this.drain(drainSlot) },
        { atMs: cycle + 5_000, run: () => this.kill(killSlot) },
        { atMs: cycle + o.gatewayWarmupMs + 15_000, run: () => this.restartRedis() },
        { atMs: cycle + o.gatewayWarmupMs + 30_000, run: () => this.killRedis() },
      ];
      this.steps.push(...planned.filter((step) => step.atMs < quietFrom));
    }
    const finalAt = o.durationMs - 10_000;
    const everyoneHome = async (): Promise<void> => {
      for (const slot of slots) this.churn.rebalance(slot.index);
    };
    this.steps.push({ atMs: finalAt, run: () => this.measureFinal() });
    this.steps.push({ atMs: quietFrom, run: everyoneHome });
    this.steps.push({ atMs: finalAt - 10_000, run: everyoneHome });
  }

  /** Runs each step when it is due (steps may add steps: a replacement's baseline) until the run's duration. */
  async playTimeline(): Promise<void> {
    this.planTimeline();
    const done = new Set<Step>();
    while (this.now() < this.o.durationMs) {
      const due = this.steps.filter((step) => !done.has(step) && step.atMs <= this.now()).sort((a, b) => a.atMs - b.atMs)[0];
      if (due) {
        done.add(due);
        await due.run();
        continue;
      }
      await sleep(100);
    }
  }

  /** The end: load stops, every client comes back and settles, and stops sending. */
  async stopLoad(): Promise<void> {
    this.stopping = true;
    this.event('load stops; every client comes back');
    for (const timer of this.timers) clearTimeout(timer);
    await this.sampler.settled();
    await this.sampler.sample();
    this.churn.away.clear();
    for (const client of this.clients) if (!client.connected) client.rejoin();
    if (!(await holdsWithin(() => this.misbehaving.clients.every((bad) => bad.code !== null), { timeoutMs: BAD_CLIENT_DEADLINE_MS, intervalMs: 50 }))) {
      for (const bad of this.misbehaving.clients) if (bad.code === null) bad.ws.terminate();
    }
    // Sets go on meanwhile: a 2020 client is refused (4001) from a mixed room whose variables
    // today's clients have not all created yet (after it was forgotten and made again).
    if (!(await this.allConnectedWithin(CONNECT_DEADLINE_MS))) {
      const missing = this.clients.filter((c) => !c.connected);
      this.failures.push(
        `${missing.length} clients could not reconnect at the end (${missing
          .slice(0, 5)
          .map((c) => `${c.id} ${c.dialect} in ${c.room.name}`)
          .join(', ')})`,
      );
    }
    for (const client of this.clients) client.setSending(false);
    // A set in flight at that moment is stored and delivered before the views are compared.
  }

  /** Emptied rooms linger subscribed (ROOM_LINGER_MS); leases of the last reconnects settle. */
  private async letLeasesSettle(): Promise<void> {
    await sleep(Number(SOAK_GATEWAY_ENV.ROOM_LINGER_MS) * 2 + 1_000);
    const lastKill = [...this.events].reverse().find((e) => e.label.startsWith('SIGKILL soak'));
    const leaseTtl = Number(SOAK_GATEWAY_ENV.LEASE_TTL_MS);
    if (lastKill && this.now() - lastKill.tMs < leaseTtl * 2) await sleep(leaseTtl * 2 - (this.now() - lastKill.tMs));
  }

  /** Redis against what remains. */
  private async audit(): Promise<AuditResult> {
    const audit = await auditRedis(this.redis.url, {
      prefix: PREFIX,
      active: expectedRooms(this.rooms, this.slots),
      known: new Set([...this.knownRooms, ...this.misbehaving.rooms]),
      addresses: expectedAddresses(this.clients),
      pods: this.slots.filter((slot) => slot.proc !== null).map((slot) => slot.podId),
    });
    this.event(`Redis audit: ${audit.ok ? 'exact' : `${audit.problems.length} problems`}`);
    for (const problem of audit.problems) this.failures.push(`redis: ${problem}`);
    return audit;
  }

  /** Every check of end-checks.ts in order, the gateways finished, and the report. */
  async checkAndReport(): Promise<SoakReport> {
    const { failures } = this;
    const diverged = await viewsMatchRedis(this.admin, PREFIX, this.rooms, failures);
    await lastSetReachesEveryone(this.admin, PREFIX, this.rooms, failures);
    await this.letLeasesSettle();
    const audit = await this.audit();
    const memory = memoryBackToBaseline(this.slots, this.o.memoryTolerance, failures);
    const bad = badClientOutcomes(this.misbehaving.clients, failures);
    const closes = wellBehavedCloses(this.stats, failures);
    const gatewayMetrics = await gatewayCounters(this.slots, failures);

    const endAt = this.now();
    for (const slot of this.slots) await slot.finish(endAt);
    this.finished = true;
    const { overall, samples } = this.sampler;
    const q = (p: number): number => overall.quantile(p) / 1000;
    return {
      label: this.o.label,
      startedAt: new Date(Date.now() - (performance.now() - this.wallStart)).toISOString(),
      options: { ...this.o, log: undefined, outDir: undefined } as unknown as Omit<SoakOptions, 'log' | 'outDir'>,
      seed: this.seed,
      machine: machineInfo(REPO_ROOT),
      loadAverageEnd: loadAverage(),
      events: this.events,
      samples,
      memory,
      gatewayLives: this.slots.flatMap((slot) => slot.history.map((life) => ({ slot: slot.index, ...life }))),
      audit,
      clients: {
        good: this.clients.length,
        setsSent: this.stats.setsSent,
        deliveries: this.stats.deliveries,
        badFrames: this.stats.badFrames,
        closes,
        latency: { p50Ms: q(0.5), p99Ms: q(0.99), p999Ms: q(0.999), maxMs: overall.max / 1000 },
        churn: this.churn.counts,
      },
      bad,
      convergence: { rooms: this.rooms.length, diverged },
      gatewayMetrics,
      failures,
      wallSeconds: (performance.now() - this.wallStart) / 1000,
    };
  }

  /** Whatever happened: timers stopped, clients gone, gateways and Redis stopped. */
  async cleanUp(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all(this.clients.map((client) => client.leave()));
    for (const bad of this.misbehaving.clients) bad.ws.terminate();
    if (!this.finished) await Promise.all(this.slots.map((slot) => slot.finish(this.now()).catch(() => undefined)));
    this.admin.disconnect();
    await this.redis.destroy();
  }
}

export async function runSoak(o: SoakOptions, seed: number): Promise<SoakReport> {
  const run = new SoakRun(o, seed, await startSoakRedis());
  try {
    await run.startGateways();
    await run.connectFirstPlayers();
    run.startLoad();
    await run.playTimeline();
    await run.stopLoad();
    return await run.checkAndReport();
  } finally {
    await run.cleanUp();
  }
}
