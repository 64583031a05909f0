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
import { Histogram, loadAverage, machineInfo, type MachineInfo } from '@cloudvars/loadgen';
import { receivedValue, storedText, type DialectName } from '@cloudvars/protocol';
import { seededRandom } from '@cloudvars/test-support/seeded-random';
import { Redis } from 'ioredis';
import type WebSocket from 'ws';
import { auditRedis, type AuditResult, type ExpectedRoom } from './audit.ts';
import { BAD_KINDS, GoodClient, newStats, type Balancer, type BadKind, type Room } from './clients.ts';
import { SOAK_GATEWAY_ENV, type SoakOptions } from './options.ts';
import { GatewaySlot, startSoakRedis, type MemoryPoint } from './processes.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** loadgen's startGateway names the key prefix after the pod id's first part ("soak"). */
const PREFIX = 'bench-soak:';
const VARIABLES = ['☁ v0', '☁ v1', '☁ v2', '☁ v3'] as const;
/** Clients started per second at the beginning (a page full of players, not a stampede). */
const JOIN_RATE_PER_SECOND = 100;
/** Bad clients that have not closed by then are counted as stuck. */
const BAD_CLIENT_DEADLINE_MS = 30_000;

export interface Sample {
  readonly tMs: number;
  readonly gateways: ReadonlyArray<{ readonly slot: number; readonly podId: string; readonly rss: number; readonly heapUsed: number | null }>;
  /** Redis's used_memory. */
  readonly redisUsed: number | null;
  readonly latency: { readonly count: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  readonly connected: number;
}

export interface MemoryCheck {
  readonly slot: number;
  readonly podId: string;
  readonly baseline: MemoryPoint;
  readonly final: MemoryPoint;
  readonly heapGrowth: number;
  readonly rssGrowth: number;
  readonly ok: boolean;
}

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
  readonly gatewayLives: Array<{ slot: number; podId: string; pid: number; startedAtMs: number; endedAtMs: number | null; how: string; baseline: MemoryPoint | null; final: MemoryPoint | null }>;
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
  readonly bad: Record<string, { started: number; codes: Record<string, number>; unexpected: number; stuck: number; disrupted: number }>;
  readonly convergence: { readonly rooms: number; readonly diverged: string[] };
  readonly gatewayMetrics: Record<string, Record<string, number>>;
  readonly failures: string[];
  readonly wallSeconds: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await condition()) return true;
    await sleep(50);
  }
  return condition();
}

interface BadClient {
  readonly kind: BadKind;
  readonly ws: WebSocket;
  readonly started: number;
  readonly slot: number;
  code: number | null;
  /** Its gateway was drained or killed, or Redis restarted, while it was open: 1006/1011/1012 are then right too. */
  disrupted: boolean;
}

/** What a drained (1012) or killed (1006) gateway, or a Redis outage (1011), closes with. */
const DISRUPTION_CODES = new Set([1006, 1011, 1012]);

export async function runSoak(o: SoakOptions, seed: number): Promise<SoakReport> {
  const wallStart = performance.now();
  const random = seededRandom(seed);
  const log = o.log;
  const failures: string[] = [];
  const events: Array<{ tMs: number; label: string }> = [];
  let t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const event = (label: string): void => {
    events.push({ tMs: now(), label });
    log(`${(now() / 1000).toFixed(1)} s: ${label}`);
  };

  const redis = await startSoakRedis();
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  admin.on('error', () => undefined); // down during Redis restarts: samples skip it
  const slots = Array.from({ length: o.gateways }, (_, i) => new GatewaySlot(i, REPO_ROOT, redis.url, SOAK_GATEWAY_ENV));
  const stats = newStats();
  const overall = new Histogram();
  const samples: Sample[] = [];
  const bads: BadClient[] = [];
  const badRooms = new Set<string>();
  const churn: Record<string, number> = { leave: 0, reload: 0, move: 0 };
  let stopping = false;
  /** While Redis restarts (and a little after): misbehaving clients started then may get 1011. */
  let redisOutage = false;
  const timers: NodeJS.Timeout[] = [];
  const disrupt = (which: (bad: BadClient) => boolean): void => {
    for (const bad of bads) if (bad.code === null && which(bad)) bad.disrupted = true;
  };

  const balancer: Balancer = {
    pick(home) {
      const slot = slots[home];
      if (slot?.open) return { slot: home, url: slot.url };
      const open = slots.filter((s) => s.open);
      const other = open[Math.floor(random() * open.length)];
      return other ? { slot: other.index, url: other.url } : null;
    },
  };

  // Rooms: half mixed (2020 clients declare the variables, today's set only those), half today's only.
  const rooms: Room[] = Array.from({ length: o.rooms }, (_, i) => ({
    name: i % 2 === 0 ? `soak-m${i}` : `soak-s${i}`,
    kind: i % 2 === 0 ? ('mixed' as const) : ('scratch' as const),
    variables: VARIABLES,
    members: new Set<GoodClient>(),
  }));
  const knownRooms = new Set(rooms.map((room) => room.name));
  const mixedDialects: readonly DialectName[] = ['seed', 'legacy', 'scratch'];
  const clients: GoodClient[] = [];
  for (let i = 0; i < o.clients; i++) {
    const room = rooms[i % rooms.length] as Room;
    const slotInRoom = Math.floor(i / rooms.length);
    const dialect = room.kind === 'mixed' ? (mixedDialects[slotInRoom % mixedDialects.length] as DialectName) : 'scratch';
    const username = dialect === 'scratch' ? `player${i % 40}` : `user${i}`;
    // Two players per address (a household), spread over 10.1.0.0/16.
    const address = `10.1.${(i >> 9) & 255}.${(i >> 1) & 255}`;
    const client = new GoodClient(i + 1, room, dialect, username, address, i % o.gateways, balancer, stats, o.setIntervalMs, random);
    room.members.add(client);
    clients.push(client);
  }

  let finished = false;
  try {
    log(`redis ${redis.url}; starting ${o.gateways} gateways`);
    await Promise.all(slots.map((slot) => slot.start(0)));
    log(`gateways: ${slots.map((s) => `${s.podId} pid ${s.pid} ${s.url}`).join(', ')}`);

    // The first players: 2020 clients first, so mixed rooms are created with their variables.
    const ordered = [...clients].sort((a, b) => Number(a.dialect === 'scratch') - Number(b.dialect === 'scratch'));
    for (const [i, client] of ordered.entries()) {
      client.connect();
      if (i % JOIN_RATE_PER_SECOND === JOIN_RATE_PER_SECOND - 1) await sleep(1000);
    }
    if (!(await until(() => clients.every((c) => c.connected), 60_000))) failures.push(`only ${clients.filter((c) => c.connected).length} of ${clients.length} clients connected at the start`);
    t0 = performance.now();
    event(`${clients.length} clients in ${rooms.length} rooms; load starts`);

    // --- the steady state: churn, misbehaving clients, samples ----------------------------
    const away = new Set<GoodClient>();
    const churnTick = (): void => {
      if (stopping) return;
      let n = Math.floor(o.churnPerSecond / 5 + random());
      while (n-- > 0) {
        const present = clients.filter((c) => c.connected && !away.has(c));
        const client = present[Math.floor(random() * present.length)];
        if (!client) return;
        const roll = random();
        if (roll < 0.4) {
          churn.leave = (churn.leave ?? 0) + 1;
          away.add(client);
          void client.leave(1000);
          timers.push(
            setTimeout(() => {
              away.delete(client);
              if (!stopping) client.rejoin();
            }, 2_000 + random() * 8_000),
          );
        } else if (roll < 0.8) {
          churn.reload = (churn.reload ?? 0) + 1;
          void client.leave(1001).then(() => {
            if (!stopping) client.rejoin();
          });
        } else {
          // Another room of the same kind (2020 clients need the same variable names).
          const choices = rooms.filter((room) => room !== client.room && (client.dialect === 'scratch' || room.kind === 'mixed'));
          const target = choices[Math.floor(random() * choices.length)];
          if (!target) continue;
          churn.move = (churn.move ?? 0) + 1;
          away.add(client);
          void client.leave(1000).then(() => {
            client.room.members.delete(client);
            client.room = target;
            target.members.add(client);
            away.delete(client);
            if (!stopping) client.rejoin();
          });
        }
      }
    };
    let badSerial = 0;
    const badTick = (): void => {
      if (stopping) return;
      let n = Math.floor(o.badPerSecond / 5 + random());
      while (n-- > 0) {
        const kind = BAD_KINDS[Math.floor(random() * BAD_KINDS.length)] as BadKind;
        const open = slots.filter((s) => s.open);
        const slot = open[Math.floor(random() * open.length)];
        if (!slot) return;
        badSerial += 1;
        const room = `soak-bad${badSerial}`;
        badRooms.add(room);
        const address = `10.200.${(badSerial >> 8) & 255}.${badSerial & 255}`;
        const ws = kind.run(slot.url, address, room);
        const bad: BadClient = { kind, ws, started: now(), slot: slot.index, code: null, disrupted: redisOutage };
        ws.on('close', (code) => {
          bad.code = code;
        });
        bads.push(bad);
      }
    };
    timers.push(setInterval(churnTick, 200), setInterval(badTick, 200));

    const sample = async (): Promise<void> => {
      const latency = stats.latency;
      stats.latency = new Histogram();
      overall.merge(latency.snapshot());
      const gateways = await Promise.all(
        slots
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
        redisUsed = Number(/used_memory:(\d+)/.exec(String(await admin.info('memory')))?.[1] ?? NaN);
      } catch {
        redisUsed = null; // Redis restarting
      }
      samples.push({
        tMs: now(),
        gateways,
        redisUsed: Number.isFinite(redisUsed) ? redisUsed : null,
        latency: { count: latency.count, p50Ms: latency.quantile(0.5) / 1000, p99Ms: latency.quantile(0.99) / 1000, maxMs: latency.max / 1000 },
        connected: clients.filter((c) => c.connected).length,
      });
    };
    let sampling = Promise.resolve();
    timers.push(
      setInterval(() => {
        sampling = sampling.then(sample).catch((error: unknown) => log(`sample failed: ${String(error)}`));
      }, o.sampleEveryMs),
    );

    /** Clients of `slot` that are elsewhere go home, as page reloads spread over a few seconds. */
    const rebalance = (slot: number): void => {
      for (const client of clients) {
        if (client.home !== slot || client.slot === slot || away.has(client) || !client.connected) continue;
        timers.push(
          setTimeout(() => {
            if (stopping || away.has(client)) return;
            void client.leave(1001).then(() => {
              if (!stopping) client.rejoin();
            });
          }, random() * 3_000),
        );
      }
    };

    const measureBaseline = async (slot: GatewaySlot): Promise<void> => {
      if (!slot.proc) return;
      slot.baseline = await slot.measure(now());
      event(`baseline of ${slot.podId}: heap ${(slot.baseline.heapUsed / 2 ** 20).toFixed(1)} MiB after GC, RSS ${(slot.baseline.rss / 2 ** 20).toFixed(1)} MiB`);
    };

    // --- the timeline ---------------------------------------------------------------------
    const quietFrom = o.durationMs - o.quietMs;
    type Step = { atMs: number; run: () => Promise<void> };
    const steps: Step[] = [{ atMs: o.warmupMs, run: async () => { for (const slot of slots) await measureBaseline(slot); } }];
    const redisDown = async (outage: () => Promise<void>): Promise<void> => {
      redisOutage = true;
      disrupt(() => true);
      await outage();
      // Gateways reconnect within their retry backoff; joins in flight meanwhile may still fail.
      timers.push(setTimeout(() => { redisOutage = false; }, 3_000));
    };
    const replace = async (slot: GatewaySlot): Promise<void> => {
      await slot.start(now());
      event(`${slot.podId} started (pid ${slot.pid})`);
      timers.push(setTimeout(() => rebalance(slot.index), 2_000));
      // Warm-up counts from when the replacement answers, not from when it was asked to start:
      // a start that took 20 s on a loaded machine had its baseline taken 1 s after it was up,
      // before its heap had grown to its working size, and the run failed on "memory grew".
      const baselineAt = now() + o.gatewayWarmupMs;
      if (baselineAt < o.durationMs - 15_000) steps.push({ atMs: baselineAt, run: () => measureBaseline(slot) });
    };
    for (let cycle = o.warmupMs + 5_000; cycle < quietFrom; cycle += o.faultPeriodMs) {
      const drainSlot = slots[1 % o.gateways] as GatewaySlot;
      const killSlot = slots[2 % o.gateways] as GatewaySlot;
      const planned: Step[] = [
        { atMs: cycle, run: async () => { event(`drain ${drainSlot.podId} (SIGTERM)`); disrupt((b) => b.slot === drainSlot.index); const code = await drainSlot.drain(now); event(`${drainSlot.podId} exited ${code}`); if (code !== 0) failures.push(`${drainSlot.podId} drained with exit code ${code}`); await replace(drainSlot); } },
        { atMs: cycle + 5_000, run: async () => { event(`SIGKILL ${killSlot.podId}`); disrupt((b) => b.slot === killSlot.index); await killSlot.kill(now); await replace(killSlot); } },
        { atMs: cycle + o.gatewayWarmupMs + 15_000, run: async () => { event('restart Redis (SIGTERM)'); await redisDown(() => redis.restart()); event('Redis back'); } },
        { atMs: cycle + o.gatewayWarmupMs + 30_000, run: async () => { event('SIGKILL Redis'); await redisDown(async () => { await redis.stop('SIGKILL'); await redis.restart(); }); event('Redis back from its AOF'); } },
      ];
      steps.push(...planned.filter((step) => step.atMs < quietFrom));
    }
    const finalAt = o.durationMs - 10_000;
    steps.push({
      atMs: finalAt,
      run: async () => {
        for (const slot of slots) {
          if (!slot.proc) continue;
          slot.final = await slot.measure(now());
          event(`final memory of ${slot.podId}: heap ${(slot.final.heapUsed / 2 ** 20).toFixed(1)} MiB after GC, RSS ${(slot.final.rss / 2 ** 20).toFixed(1)} MiB`);
        }
      },
    });
    // Before the final measures, every client is back home (the population of the baselines).
    steps.push({ atMs: quietFrom, run: async () => { for (const slot of slots) rebalance(slot.index); } });
    steps.push({ atMs: finalAt - 10_000, run: async () => { for (const slot of slots) rebalance(slot.index); } });

    const done = new Set<Step>();
    while (now() < o.durationMs) {
      const due = steps.filter((step) => !done.has(step) && step.atMs <= now()).sort((a, b) => a.atMs - b.atMs)[0];
      if (due) {
        done.add(due);
        await due.run();
        continue;
      }
      await sleep(100);
    }

    // --- the end: load stops, every client comes back and settles ---------------------------
    stopping = true;
    event('load stops; every client comes back');
    for (const timer of timers) clearTimeout(timer);
    await sampling;
    await sample();
    away.clear();
    for (const client of clients) if (!client.connected) client.rejoin();
    if (!(await until(() => bads.every((bad) => bad.code !== null), BAD_CLIENT_DEADLINE_MS))) {
      for (const bad of bads) if (bad.code === null) bad.ws.terminate();
    }
    // Sets go on meanwhile: a 2020 client is refused (4001) from a mixed room whose variables
    // today's clients have not all created yet (after it was forgotten and made again).
    if (!(await until(() => clients.every((c) => c.connected), 60_000))) {
      const missing = clients.filter((c) => !c.connected);
      failures.push(`${missing.length} clients could not reconnect at the end (${missing.slice(0, 5).map((c) => `${c.id} ${c.dialect} in ${c.room.name}`).join(', ')})`);
    }
    for (const client of clients) client.setSending(false);
    // A set in flight at that moment is stored and delivered before the views are compared.

    // Each room: every client holds Redis's values, each as its dialect receives it (typed for
    // Scratch 3 clients, text for 2020: receivedValue), not the stored text and its string
    // mark; then a last set reaches every member.
    const storedOf = async (room: Room): Promise<Record<string, string>> => admin.hgetall(`${PREFIX}{${room.name}}:vars`);
    const diverged: string[] = [];
    const converged = await until(async () => {
      diverged.length = 0;
      for (const room of rooms) {
        const stored = await storedOf(room);
        for (const client of room.members) {
          const wrong = Object.entries(stored).filter(([name, value]) => client.view.get(name) !== receivedValue(client.dialect, value));
          const shown = ([name, value]: [string, string]): string => `${name} holds ${JSON.stringify(client.view.get(name))}, should ${JSON.stringify(receivedValue(client.dialect, value))} (stored ${JSON.stringify(value)})`;
          if (wrong.length > 0) diverged.push(`${room.name} client ${client.id} (${client.dialect}): ${wrong.map(shown).join('; ')}`);
        }
      }
      return diverged.length === 0;
    }, 30_000);
    if (!converged) failures.push(`${diverged.length} client views differ from Redis: ${diverged.slice(0, 5).join(' | ')}`);
    const lastValue = (index: number): string => `9${String(index).padStart(8, '0')}`;
    for (const [index, room] of rooms.entries()) {
      const first = [...room.members].find((c) => c.connected);
      first?.set('☁ v0', lastValue(index));
    }
    // Reached: Redis holds the last value, and every member holds it as its dialect receives it.
    const holdsLast = async (room: Room, index: number): Promise<boolean> => {
      if (room.members.size === 0) return true;
      const stored = (await storedOf(room))['☁ v0'];
      return stored !== undefined && storedText(stored) === lastValue(index) && [...room.members].every((c) => c.view.get('☁ v0') === receivedValue(c.dialect, stored));
    };
    const notReached = async (): Promise<Room[]> => {
      const missing: Room[] = [];
      for (const [index, room] of rooms.entries()) if (!(await holdsLast(room, index))) missing.push(room);
      return missing;
    };
    const reached = await until(async () => (await notReached()).length === 0, 30_000);
    if (!reached) failures.push(`a room's last set did not reach every member: ${(await notReached()).map((r) => r.name).slice(0, 5).join(', ')}`);

    // Emptied rooms linger subscribed (ROOM_LINGER_MS); leases of the last reconnects settle.
    await sleep(Number(SOAK_GATEWAY_ENV.ROOM_LINGER_MS) * 2 + 1_000);
    const lastKill = [...events].reverse().find((e) => e.label.startsWith('SIGKILL soak'));
    const leaseTtl = Number(SOAK_GATEWAY_ENV.LEASE_TTL_MS);
    if (lastKill && now() - lastKill.tMs < leaseTtl * 2) await sleep(leaseTtl * 2 - (now() - lastKill.tMs));

    // --- Redis against what remains ------------------------------------------------------------
    const active = new Map<string, ExpectedRoom>();
    for (const room of rooms) {
      const members = [...room.members];
      if (members.length === 0) continue;
      active.set(room.name, {
        members: members.length,
        names: members.filter((c) => c.dialect !== 'scratch').length,
        pods: new Set(members.map((c) => slots[c.slot]?.podId ?? '?')),
      });
    }
    const addresses = new Map<string, number>();
    for (const client of clients) addresses.set(client.address, (addresses.get(client.address) ?? 0) + 1);
    const audit = await auditRedis(redis.url, {
      prefix: PREFIX,
      active,
      known: new Set([...knownRooms, ...badRooms]),
      addresses,
      pods: slots.filter((slot) => slot.proc !== null).map((slot) => slot.podId),
    });
    event(`Redis audit: ${audit.ok ? 'exact' : `${audit.problems.length} problems`}`);
    for (const problem of audit.problems) failures.push(`redis: ${problem}`);

    // --- memory, against each gateway's baseline -------------------------------------------------
    const memory: MemoryCheck[] = [];
    for (const slot of slots) {
      if (!slot.proc) continue;
      if (slot.baseline === null || slot.final === null) {
        failures.push(`${slot.podId}: no ${slot.baseline === null ? 'baseline' : 'final'} memory measure`);
        continue;
      }
      const heapGrowth = slot.final.heapUsed / slot.baseline.heapUsed - 1;
      const rssGrowth = slot.final.rss / slot.baseline.rss - 1;
      const ok = heapGrowth <= o.memoryTolerance && rssGrowth <= o.memoryTolerance;
      memory.push({ slot: slot.index, podId: slot.podId, baseline: slot.baseline, final: slot.final, heapGrowth, rssGrowth, ok });
      if (!ok) failures.push(`${slot.podId}: memory grew beyond ${o.memoryTolerance * 100}% (heap after GC ${(heapGrowth * 100).toFixed(1)}%, RSS ${(rssGrowth * 100).toFixed(1)}%)`);
    }

    // --- what the clients saw ------------------------------------------------------------------
    const bad: SoakReport['bad'] = {};
    for (const client of bads) {
      const entry = (bad[client.kind.name] ??= { started: 0, codes: {}, unexpected: 0, stuck: 0, disrupted: 0 });
      entry.started += 1;
      const seen = client.code === null ? 'none' : String(client.code);
      entry.codes[seen] = (entry.codes[seen] ?? 0) + 1;
      if (client.code === null) entry.stuck += 1;
      else if (client.disrupted && DISRUPTION_CODES.has(client.code)) entry.disrupted += 1;
      // 'self': it ended the connection, the server owed it nothing (ws reports 1006).
      else if (!client.kind.expect.includes(client.code) && !(client.kind.expect.includes('self') && client.code === 1006)) entry.unexpected += 1;
    }
    for (const [name, entry] of Object.entries(bad)) {
      if (entry.unexpected > 0 || entry.stuck > 0) failures.push(`misbehaving clients "${name}": ${entry.unexpected} closed with an unexpected code, ${entry.stuck} never closed (${JSON.stringify(entry.codes)})`);
    }
    const closes = Object.fromEntries([...stats.closes].sort(([a], [b]) => a - b).map(([code, n]) => [String(code), n]));
    // Codes a well-behaved client may get: drains, kills (1006), rooms gone with Redis's data
    // (1012), a username still held after a reload (4002), names not matching yet (4001).
    const expectedCloses = new Set([1006, 1011, 1012, 4001, 4002]);
    const wrong = [...stats.closes].filter(([code]) => !expectedCloses.has(code));
    if (wrong.length > 0) failures.push(`well-behaved clients closed with unexpected codes: ${JSON.stringify(Object.fromEntries(wrong))}`);
    if (stats.badFrames > 0) failures.push(`${stats.badFrames} frames the clients could not read`);

    const gatewayMetrics: Record<string, Record<string, number>> = {};
    for (const slot of slots) {
      const metrics = await slot.metrics();
      if (!metrics) continue;
      gatewayMetrics[slot.podId] = Object.fromEntries(
        ['cloudvars_connections', 'cloudvars_rooms', 'cloudvars_subscriptions', 'cloudvars_sets_total', 'cloudvars_resyncs_total', 'cloudvars_engine_errors_total', 'cloudvars_redis_reconnects_total', 'cloudvars_joins_total', 'cloudvars_closes_total', 'cloudvars_protocol_errors_total']
          .filter((name) => metrics.has(name))
          .map((name) => [name, metrics.get(name) as number]),
      );
    }
    for (const slot of slots) if (slot.proc && slot.proc.child.exitCode !== null) failures.push(`${slot.podId} exited on its own (${slot.proc.child.exitCode})`);

    const endAt = now();
    for (const slot of slots) await slot.finish(endAt);
    finished = true;
    const q = (p: number): number => overall.quantile(p) / 1000;
    return {
      label: o.label,
      startedAt: new Date(Date.now() - (performance.now() - wallStart)).toISOString(),
      options: { ...o, log: undefined, outDir: undefined } as unknown as Omit<SoakOptions, 'log' | 'outDir'>,
      seed,
      machine: machineInfo(REPO_ROOT),
      loadAverageEnd: loadAverage(),
      events,
      samples,
      memory,
      gatewayLives: slots.flatMap((slot) => slot.history.map((life) => ({ slot: slot.index, ...life }))),
      audit,
      clients: {
        good: clients.length,
        setsSent: stats.setsSent,
        deliveries: stats.deliveries,
        badFrames: stats.badFrames,
        closes,
        latency: { p50Ms: q(0.5), p99Ms: q(0.99), p999Ms: q(0.999), maxMs: overall.max / 1000 },
        churn,
      },
      bad,
      convergence: { rooms: rooms.length, diverged },
      gatewayMetrics,
      failures,
      wallSeconds: (performance.now() - wallStart) / 1000,
    };
  } finally {
    stopping = true;
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(clients.map((client) => client.leave()));
    for (const bad of bads) bad.ws.terminate();
    if (!finished) await Promise.all(slots.map((slot) => slot.finish(now()).catch(() => undefined)));
    admin.disconnect();
    await redis.destroy();
  }
}
