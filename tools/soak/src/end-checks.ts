/**
 * The soak's checks once the load has stopped and every client is back: each one a named
 * step that appends what it finds wrong to the run's failures and returns what the report
 * shows. Run in this order by soak.ts: views against Redis, a last set reaching everyone,
 * Redis against what remains (audit.ts), memory against each gateway's baseline, what the
 * misbehaving and the well-behaved clients saw, the gateways' own counters.
 */
import { receivedValue, storedText } from '@cloudvars/protocol';
import { holdsWithin } from '@cloudvars/test-support/until';
import type { Redis } from 'ioredis';
import type WebSocket from 'ws';
import type { ExpectedRoom } from './audit.ts';
import type { BadKind, ClientStats, GoodClient, Room } from './clients.ts';
import type { GatewaySlot, MemoryPoint } from './processes.ts';

/** How long the views may take to settle on Redis's values, and a last set to reach every member. */
const SETTLE_MS = 30_000;

/** A misbehaving client the run started. */
export interface BadClient {
  readonly kind: BadKind;
  readonly ws: WebSocket;
  readonly started: number;
  readonly slot: number;
  code: number | null;
  /** Its gateway was drained or killed, or Redis restarted, while it was open: 1006/1011/1012 are then right too. */
  disrupted: boolean;
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

export type BadOutcomes = Record<string, { started: number; codes: Record<string, number>; unexpected: number; stuck: number; disrupted: number }>;

/** What a drained (1012) or killed (1006) gateway, or a Redis outage (1011), closes with. */
const DISRUPTION_CODES = new Set([1006, 1011, 1012]);

/**
 * Codes a well-behaved client may get: drains, kills (1006), rooms gone with Redis's data
 * (1012), a username still held after a reload (4002), names not matching yet (4001).
 */
const EXPECTED_CLOSES = new Set([1006, 1011, 1012, 4001, 4002]);

const GATEWAY_METRICS = [
  'cloudvars_connections',
  'cloudvars_rooms',
  'cloudvars_subscriptions',
  'cloudvars_sets_total',
  'cloudvars_resyncs_total',
  'cloudvars_engine_errors_total',
  'cloudvars_redis_reconnects_total',
  'cloudvars_joins_total',
  'cloudvars_closes_total',
  'cloudvars_protocol_errors_total',
];

function storedOf(admin: Redis, prefix: string, room: Room): Promise<Record<string, string>> {
  return admin.hgetall(`${prefix}{${room.name}}:vars`);
}

/**
 * Each room: every client holds Redis's values, each as its dialect receives it (typed for
 * Scratch 3 clients, text for 2020: receivedValue), not the stored text and its string mark.
 * Returns the clients that still differ.
 */
export async function viewsMatchRedis(admin: Redis, prefix: string, rooms: readonly Room[], failures: string[]): Promise<string[]> {
  const diverged: string[] = [];
  const converged = await holdsWithin(
    async () => {
      diverged.length = 0;
      for (const room of rooms) {
        const stored = await storedOf(admin, prefix, room);
        for (const client of room.members) {
          const wrong = Object.entries(stored).filter(([name, value]) => client.view.get(name) !== receivedValue(client.dialect, value));
          const shown = ([name, value]: [string, string]): string =>
            `${name} holds ${JSON.stringify(client.view.get(name))}, should ${JSON.stringify(receivedValue(client.dialect, value))} (stored ${JSON.stringify(value)})`;
          if (wrong.length > 0) diverged.push(`${room.name} client ${client.id} (${client.dialect}): ${wrong.map(shown).join('; ')}`);
        }
      }
      return diverged.length === 0;
    },
    { timeoutMs: SETTLE_MS, intervalMs: 50 },
  );
  if (!converged) failures.push(`${diverged.length} client views differ from Redis: ${diverged.slice(0, 5).join(' | ')}`);
  return diverged;
}

/** A last set in each room reaches Redis and every member, as its dialect receives it. */
export async function lastSetReachesEveryone(admin: Redis, prefix: string, rooms: readonly Room[], failures: string[]): Promise<void> {
  const lastValue = (index: number): string => `9${String(index).padStart(8, '0')}`;
  for (const [index, room] of rooms.entries()) {
    const first = [...room.members].find((c) => c.connected);
    first?.set('☁ v0', lastValue(index));
  }
  const holdsLast = async (room: Room, index: number): Promise<boolean> => {
    if (room.members.size === 0) return true;
    const stored = (await storedOf(admin, prefix, room))['☁ v0'];
    return (
      stored !== undefined && storedText(stored) === lastValue(index) && [...room.members].every((c) => c.view.get('☁ v0') === receivedValue(c.dialect, stored))
    );
  };
  const notReached = async (): Promise<Room[]> => {
    const missing: Room[] = [];
    for (const [index, room] of rooms.entries()) if (!(await holdsLast(room, index))) missing.push(room);
    return missing;
  };
  const reached = await holdsWithin(async () => (await notReached()).length === 0, { timeoutMs: SETTLE_MS, intervalMs: 50 });
  if (!reached)
    failures.push(
      `a room's last set did not reach every member: ${(await notReached())
        .map((r) => r.name)
        .slice(0, 5)
        .join(', ')}`,
    );
}

/** What Redis should hold for the rooms with members left: their member and name counts, and the pods serving them. */
export function expectedRooms(rooms: readonly Room[], slots: readonly GatewaySlot[]): Map<string, ExpectedRoom> {
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
  return active;
}

/** Connections per client address, as Redis should count them. */
export function expectedAddresses(clients: readonly GoodClient[]): Map<string, number> {
  const addresses = new Map<string, number>();
  for (const client of clients) addresses.set(client.address, (addresses.get(client.address) ?? 0) + 1);
  return addresses;
}

/** Each running gateway's final memory against its baseline, within `tolerance` (0.1: 10 %). */
export function memoryBackToBaseline(slots: readonly GatewaySlot[], tolerance: number, failures: string[]): MemoryCheck[] {
  const memory: MemoryCheck[] = [];
  for (const slot of slots) {
    if (!slot.proc) continue;
    if (slot.baseline === null || slot.final === null) {
      failures.push(`${slot.podId}: no ${slot.baseline === null ? 'baseline' : 'final'} memory measure`);
      continue;
    }
    const heapGrowth = slot.final.heapUsed / slot.baseline.heapUsed - 1;
    const rssGrowth = slot.final.rss / slot.baseline.rss - 1;
    const ok = heapGrowth <= tolerance && rssGrowth <= tolerance;
    memory.push({ slot: slot.index, podId: slot.podId, baseline: slot.baseline, final: slot.final, heapGrowth, rssGrowth, ok });
    if (!ok) {
      failures.push(
        `${slot.podId}: memory grew beyond ${tolerance * 100}% (heap after GC ${(heapGrowth * 100).toFixed(1)}%, RSS ${(rssGrowth * 100).toFixed(1)}%)`,
      );
    }
  }
  return memory;
}

/** Each misbehaving kind: how its clients were closed, and which closes it was not owed. */
export function badClientOutcomes(bads: readonly BadClient[], failures: string[]): BadOutcomes {
  const bad: BadOutcomes = {};
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
    if (entry.unexpected > 0 || entry.stuck > 0) {
      failures.push(
        `misbehaving clients "${name}": ${entry.unexpected} closed with an unexpected code, ${entry.stuck} never closed (${JSON.stringify(entry.codes)})`,
      );
    }
  }
  return bad;
}

/** The well-behaved clients' closes by code, and a failure for any they were not meant to get or a frame they could not read. */
export function wellBehavedCloses(stats: ClientStats, failures: string[]): Record<string, number> {
  const closes = Object.fromEntries([...stats.closes].sort(([a], [b]) => a - b).map(([code, n]) => [String(code), n]));
  const wrong = [...stats.closes].filter(([code]) => !EXPECTED_CLOSES.has(code));
  if (wrong.length > 0) failures.push(`well-behaved clients closed with unexpected codes: ${JSON.stringify(Object.fromEntries(wrong))}`);
  if (stats.badFrames > 0) failures.push(`${stats.badFrames} frames the clients could not read`);
  return closes;
}

/** The counters of each gateway still up, and a failure for one that exited on its own. */
export async function gatewayCounters(slots: readonly GatewaySlot[], failures: string[]): Promise<Record<string, Record<string, number>>> {
  const counters: Record<string, Record<string, number>> = {};
  for (const slot of slots) {
    const metrics = await slot.metrics();
    if (!metrics) continue;
    counters[slot.podId] = Object.fromEntries(GATEWAY_METRICS.filter((name) => metrics.has(name)).map((name) => [name, metrics.get(name) as number]));
  }
  for (const slot of slots) if (slot.proc && slot.proc.child.exitCode !== null) failures.push(`${slot.podId} exited on its own (${slot.proc.child.exitCode})`);
  return counters;
}
