/**
 * The soak's steady load, beside the well-behaved clients' own sets (clients.ts): churn
 * (leaves, page reloads, room changes, going home after a gateway came back), misbehaving
 * clients, and the samples the plot draws. Each part ticks on a timer of the run's; every
 * timer goes into the run's list so the run clears them all at the end.
 */
import { Histogram } from '@cloudvars/loadgen';
import type { Redis } from 'ioredis';
import { BAD_KINDS, type BadKind, type ClientStats, type GoodClient, type Room } from './clients.ts';
import type { BadClient } from './end-checks.ts';
import type { GatewaySlot } from './processes.ts';

/** What the load's parts share with the run. */
export interface LoadContext {
  readonly random: () => number;
  /** ms since the load started. */
  readonly now: () => number;
  /** True once the load stops: nothing rejoins or starts any more. */
  readonly stopping: () => boolean;
  readonly timers: NodeJS.Timeout[];
}

/** The parts tick this often; their per-second rates are spread over the ticks. */
export const TICK_MS = 200;

/** A per-second rate as a whole number of events for one tick, the fraction drawn at random. */
function eventsThisTick(perSecond: number, random: () => number): number {
  return Math.floor(perSecond / (1000 / TICK_MS) + random());
}

export interface Sample {
  readonly tMs: number;
  readonly gateways: ReadonlyArray<{ readonly slot: number; readonly podId: string; readonly rss: number; readonly heapUsed: number | null }>;
  /** Redis's used_memory. */
  readonly redisUsed: number | null;
  readonly latency: { readonly count: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  readonly connected: number;
}

/** Well-behaved clients coming and going. */
export class Churn {
  readonly counts: Record<string, number> = { leave: 0, reload: 0, move: 0 };
  /** Clients that left for a while (or are changing rooms): churn and rebalancing leave them be. */
  readonly away = new Set<GoodClient>();

  constructor(
    private readonly context: LoadContext,
    private readonly clients: readonly GoodClient[],
    private readonly rooms: readonly Room[],
  ) {}

  tick(perSecond: number): void {
    const { random, stopping } = this.context;
    if (stopping()) return;
    let n = eventsThisTick(perSecond, random);
    while (n-- > 0) {
      const present = this.clients.filter((c) => c.connected && !this.away.has(c));
      const client = present[Math.floor(random() * present.length)];
      if (!client) return;
      const roll = random();
      if (roll < 0.4) this.leaveForAWhile(client);
      else if (roll < 0.8) this.reload(client);
      else this.changeRoom(client);
    }
  }

  private leaveForAWhile(client: GoodClient): void {
    this.counts.leave = (this.counts.leave ?? 0) + 1;
    this.away.add(client);
    void client.leave(1000);
    this.context.timers.push(
      setTimeout(
        () => {
          this.away.delete(client);
          if (!this.context.stopping()) client.rejoin();
        },
        2_000 + this.context.random() * 8_000,
      ),
    );
  }

  private reload(client: GoodClient): void {
    this.counts.reload = (this.counts.reload ?? 0) + 1;
    void client.leave(1001).then(() => {
      if (!this.context.stopping()) client.rejoin();
    });
  }

  /** To another room of the same kind (2020 clients need the same variable names). */
  private changeRoom(client: GoodClient): void {
    const choices = this.rooms.filter((room) => room !== client.room && (client.dialect === 'scratch' || room.kind === 'mixed'));
    const target = choices[Math.floor(this.context.random() * choices.length)];
    if (!target) return;
    this.counts.move = (this.counts.move ?? 0) + 1;
    this.away.add(client);
    void client.leave(1000).then(() => {
      client.room.members.delete(client);
      client.room = target;
      target.members.add(client);
      this.away.delete(client);
      if (!this.context.stopping()) client.rejoin();
    });
  }

  /** Clients of `slot` that are elsewhere go home, as page reloads spread over a few seconds. */
  rebalance(slot: number): void {
    const { random, stopping, timers } = this.context;
    for (const client of this.clients) {
      if (client.home !== slot || client.slot === slot || this.away.has(client) || !client.connected) continue;
      timers.push(
        setTimeout(() => {
          if (stopping() || this.away.has(client)) return;
          void client.leave(1001).then(() => {
            if (!stopping()) client.rejoin();
          });
        }, random() * 3_000),
      );
    }
  }
}

/** Misbehaving clients, started on random open gateways, each in a room of its own. */
export class Misbehaving {
  readonly clients: BadClient[] = [];
  readonly rooms = new Set<string>();
  private serial = 0;
  /** While Redis restarts (and a little after): clients started then may get 1011. */
  redisOutage = false;

  constructor(
    private readonly context: LoadContext,
    private readonly slots: readonly GatewaySlot[],
  ) {}

  tick(perSecond: number): void {
    const { random, now, stopping } = this.context;
    if (stopping()) return;
    let n = eventsThisTick(perSecond, random);
    while (n-- > 0) {
      const kind = BAD_KINDS[Math.floor(random() * BAD_KINDS.length)] as BadKind;
      const open = this.slots.filter((s) => s.open);
      const slot = open[Math.floor(random() * open.length)];
      if (!slot) return;
      this.serial += 1;
      const room = `soak-bad${this.serial}`;
      this.rooms.add(room);
      const address = `10.200.${(this.serial >> 8) & 255}.${this.serial & 255}`;
      const ws = kind.run(slot.url, address, room);
      const bad: BadClient = { kind, ws, started: now(), slot: slot.index, code: null, disrupted: this.redisOutage };
      ws.on('close', (code) => {
        bad.code = code;
      });
      this.clients.push(bad);
    }
  }

  /** Marks the open clients `which` selects as disrupted: a drain, a kill or an outage may close them with its own code. */
  disrupt(which: (bad: BadClient) => boolean): void {
    for (const bad of this.clients) if (bad.code === null && which(bad)) bad.disrupted = true;
  }
}

/** Each gateway's memory, Redis's, the latency of the interval and the clients connected. */
export class Sampler {
  readonly samples: Sample[] = [];
  /** Every interval's latency, merged. */
  readonly overall = new Histogram();
  private pending = Promise.resolve();

  constructor(
    private readonly context: LoadContext,
    private readonly slots: readonly GatewaySlot[],
    private readonly admin: Redis,
    private readonly stats: ClientStats,
    private readonly clients: readonly GoodClient[],
  ) {}

  /** Takes a sample after the one in progress; a failed one is logged, not fatal. */
  queue(log: (line: string) => void): void {
    this.pending = this.pending.then(() => this.sample()).catch((error: unknown) => log(`sample failed: ${String(error)}`));
  }

  /** Resolves once the queued samples are taken. */
  settled(): Promise<void> {
    return this.pending;
  }

  async sample(): Promise<void> {
    const latency = this.stats.latency;
    this.stats.latency = new Histogram();
    this.overall.merge(latency.snapshot());
    const gateways = await Promise.all(
      this.slots
        .filter((slot) => slot.proc !== null)
        .map(async (slot) => {
          let rss = 0;
          try {
            rss = slot.rss();
          } catch {
            rss = 0; // exiting right now
          }
          const metrics = await slot.metrics();
          return { slot: slot.index, podId: slot.podId, rss, heapUsed: metrics?.get('nodejs_heap_size_used_bytes') ?? null };
        }),
    );
    let redisUsed: number | null = null;
    try {
      redisUsed = Number(/used_memory:(\d+)/.exec(String(await this.admin.info('memory')))?.[1] ?? NaN);
    } catch {
      redisUsed = null; // Redis restarting
    }
    this.samples.push({
      tMs: this.context.now(),
      gateways,
      redisUsed: Number.isFinite(redisUsed) ? redisUsed : null,
      latency: { count: latency.count, p50Ms: latency.quantile(0.5) / 1000, p99Ms: latency.quantile(0.99) / 1000, maxMs: latency.max / 1000 },
      connected: this.clients.filter((c) => c.connected).length,
    });
  }
}
