/**
 * What one set costs Redis: starts its own redis-server (free port on 127.0.0.1, no
 * persistence), joins `rooms x members` connections through the real Redis engine,
 * subscribes every room on the engine's bus (PUBLISH then has a subscriber to write to, as
 * under a gateway), resets Redis's statistics, drives `sets` sets through `RoomStore.set`
 * (a Scratch 3 client's: may create, a user, an address; every member sets its own
 * variable, each value a new number of the same length, so the room does not grow), and
 * reads `INFO commandstats` and `INFO cpu`: calls and microseconds per set of EVALSHA and of
 * every command the set script runs inside it, and Redis's CPU per set.
 *
 *   node --conditions=source --import tsx packages/rooms/bench/set-cost.ts [--repeat 3]
 *
 * Options: --rooms 100 --members 10 --sets 20000 --inflight 64 --repeat 1 --batch 1 (sets per
 * store call: more than 1 calls RoomStore.setMany with that many sets of one member's variable)
 * --ledger-bytes 536870912 (MAX_STORED_BYTES_PER_ADDRESS's default; 0: off, as `pnpm bench`)
 * --log-length 100 (CLOUD_LOG_LENGTH's default). Only loopback traffic.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisProcess } from '@cloudvars/test-support/redis-server';
import { createRedisEngine, type EngineLimits, type RoomEngine } from '../src/index.ts';

interface Settings {
  readonly rooms: number;
  readonly members: number;
  readonly sets: number;
  readonly inflight: number;
  /** Sets per store call: 1 calls RoomStore.set, more call setMany with that many sets of one room. */
  readonly batch: number;
  readonly repeat: number;
  readonly ledgerBytes: number;
  readonly logLength: number;
}

/** One command's line of `INFO commandstats`. */
interface CommandStat {
  readonly calls: number;
  readonly usec: number;
}

interface RunResult {
  readonly sets: number;
  readonly commands: ReadonlyMap<string, CommandStat>;
  /** Redis's user + system CPU over the sets, in microseconds. */
  readonly cpuUsec: number;
  readonly wallMs: number;
  readonly events: number;
}

/** The gateway's defaults (config.ts), but for what the options change. */
function limitsFor(settings: Settings): EngineLimits {
  return {
    maxClientsPerRoom: 100,
    maxVariables: 128,
    maxRoomBytes: 1024 * 1024,
    maxRooms: 100_000,
    maxConnectionsPerAddress: 1_000_000,
    leaseTtlMs: 15_000,
    roomTtlMs: 30 * 24 * 3600 * 1000,
    untouchedRoomTtlMs: 600_000,
    logLength: settings.logLength,
    maxStoredBytesPerAddress: settings.ledgerBytes,
  };
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      rooms: { type: 'string', default: '100' },
      members: { type: 'string', default: '10' },
      sets: { type: 'string', default: '20000' },
      inflight: { type: 'string', default: '64' },
      batch: { type: 'string', default: '1' },
      repeat: { type: 'string', default: '1' },
      'ledger-bytes': { type: 'string', default: String(512 * 1024 * 1024) },
      'log-length': { type: 'string', default: '100' },
    },
  });
  const int = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} takes a whole number, not ${JSON.stringify(text)}`);
    return n;
  };
  return {
    rooms: int('rooms', values.rooms),
    members: int('members', values.members),
    sets: int('sets', values.sets),
    inflight: Math.max(1, int('inflight', values.inflight)),
    batch: Math.max(1, int('batch', values.batch)),
    repeat: Math.max(1, int('repeat', values.repeat)),
    ledgerBytes: int('ledger-bytes', values['ledger-bytes']),
    logLength: int('log-length', values['log-length']),
  };
}

/** `cmdstat_<name>:calls=..,usec=..,...` lines, by lower-case command name. */
function parseCommandStats(info: string): Map<string, CommandStat> {
  const stats = new Map<string, CommandStat>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    const [, name, calls, usec] = match;
    if (name !== undefined) stats.set(name, { calls: Number(calls), usec: Number(usec) });
  }
  return stats;
}

function cpuUsec(info: string): number {
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 'NaN');
  return Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1e6);
}

/** Every value has its 16 digits (up to 9e15 sets): a set replaces a value of its own length, so the room never grows. */
const WARM_UP_VALUE = 1_000_000_000_000_000;

/** How long the events of the last sets may take to arrive before the run reports without them. */
const EVENTS_WAIT_MS = 5_000;

/** The commands the bench itself sends (statistics, its own setup): not part of a set. */
const OWN_COMMANDS = new Set(['info', 'config|resetstat', 'config', 'subscribe', 'ping', 'client|setname', 'client', 'select']);

async function runOnce(url: string, settings: Settings, run: number): Promise<RunResult> {
  const prefix = `bench:set-cost:${run}:`;
  let events = 0;
  let expected = Infinity;
  let allArrived = (): void => undefined;
  const arrived = new Promise<void>((resolve) => (allArrived = resolve));
  const engine: RoomEngine = createRedisEngine({ url, keyPrefix: prefix, limits: limitsFor(settings), podId: `bench-${run}` });
  const admin = new Redis(url);
  try {
    const rooms = Array.from({ length: settings.rooms }, (_, r) => `room${r}`);
    engine.bus.listen({
      onEvent: () => {
        events += 1;
        if (events >= expected) allArrived();
      },
      onResync: () => undefined,
    });
    await engine.bus.subscribe(rooms);
    const members: { room: string; id: string; variable: string; user: string }[] = [];
    for (const room of rooms) {
      await Promise.all(
        Array.from({ length: settings.members }, async (_, m) => {
          const id = `${room}-c${m}`;
          const user = `player${m}`;
          const joined = await engine.store.join({ room, connectionId: id, username: user, claimUsername: false, variables: null, address: '127.0.0.1' });
          if (!joined.ok) throw new Error(`join of ${id} refused: ${joined.reason}`);
          members.push({ room, id, variable: `☁ var${m}`, user });
        }),
      );
    }
    // Every member's variable exists before the measured window: the sets replace values.
    await Promise.all(
      members.map((member) =>
        engine.store.set(member.room, member.id, member.variable, String(WARM_UP_VALUE), { create: true, user: member.user, address: '127.0.0.1' }),
      ),
    );
    // The warm-up charged the address for the new variables without waiting (stored-bytes.ts): a
    // call on the same connection answers after those charges ran, so none lands in the window.
    await engine.store.memberCount(rooms[0] ?? '');
    await admin.config('RESETSTAT');
    const cpuBefore = cpuUsec(await admin.info('cpu'));
    const begin = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < settings.sets) {
        const i = next;
        next += settings.batch;
        const member = members[(i / settings.batch) % members.length];
        if (member === undefined) throw new Error('no members');
        const options = { create: true, user: member.user, address: '127.0.0.1' };
        if (settings.batch === 1) {
          const result = await engine.store.set(member.room, member.id, member.variable, String(WARM_UP_VALUE + 1 + i), options);
          if (!result.ok) throw new Error(`set refused: ${result.reason}`);
          continue;
        }
        // A member's batch: its own variable several times, as a client's writes within one tick.
        const changes = Array.from({ length: settings.batch }, (_, k) => ({ variable: member.variable, value: String(WARM_UP_VALUE + 1 + i + k) }));
        for (const result of await engine.store.setMany(member.room, member.id, changes, options)) {
          if (!result.ok) throw new Error(`set refused: ${result.reason}`);
        }
      }
    };
    await Promise.all(Array.from({ length: settings.inflight }, worker));
    const wallMs = performance.now() - begin;
    const cpuAfter = cpuUsec(await admin.info('cpu'));
    const commands = parseCommandStats(await admin.info('commandstats'));
    for (const own of OWN_COMMANDS) commands.delete(own);
    // Every set's event reaches the subscriber (the warm-up's too): a check that PUBLISH had one to write to.
    expected = members.length + settings.sets;
    if (events >= expected) allArrived();
    await Promise.race([arrived, new Promise((resolve) => setTimeout(resolve, EVENTS_WAIT_MS).unref())]);
    return { sets: settings.sets, commands, cpuUsec: cpuAfter - cpuBefore, wallMs, events: events - members.length };
  } finally {
    await engine.close();
    await admin.quit();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

/** One row per command: calls per set, usec per set and per call, each as the median and the range over runs. */
function report(settings: Settings, results: readonly RunResult[]): string {
  const names = new Set<string>();
  for (const result of results) for (const name of result.commands.keys()) names.add(name);
  const perSet = (result: RunResult, name: string, field: 'calls' | 'usec'): number => (result.commands.get(name)?.[field] ?? 0) / result.sets;
  const span = (values: readonly number[], digits: number): string =>
    values.length > 1
      ? `${fixed(median(values), digits)} (${fixed(Math.min(...values), digits)}-${fixed(Math.max(...values), digits)})`
      : fixed(values[0] ?? NaN, digits);
  const rows = [...names]
    .map((name) => ({
      name,
      calls: results.map((r) => perSet(r, name, 'calls')),
      usec: results.map((r) => perSet(r, name, 'usec')),
      perCall: results.map((r) => {
        const stat = r.commands.get(name);
        return stat === undefined || stat.calls === 0 ? NaN : stat.usec / stat.calls;
      }),
    }))
    .sort((a, b) => median(b.usec) - median(a.usec));
  const inner = rows.filter((row) => row.name !== 'evalsha' && row.name !== 'eval');
  const innerCalls = results.map((r) => inner.reduce((sum, row) => sum + perSet(r, row.name, 'calls'), 0));
  const innerUsec = results.map((r) => inner.reduce((sum, row) => sum + perSet(r, row.name, 'usec'), 0));
  const evalUsec = results.map((r) => perSet(r, 'evalsha', 'usec') + perSet(r, 'eval', 'usec'));
  const lines = [
    `${settings.rooms} rooms x ${settings.members} members, ${settings.sets} sets per run in calls of ${settings.batch}, ${settings.inflight} in flight, ` +
      `ledger ${settings.ledgerBytes === 0 ? 'off' : `${settings.ledgerBytes} bytes`}, log ${settings.logLength}; ${results.length} run(s): median (min-max)`,
    '',
    '| command | calls per set | usec per set | usec per call |',
    '|---|---|---|---|',
    ...rows.map((row) => `| ${row.name} | ${span(row.calls, 2)} | ${span(row.usec, 2)} | ${span(row.perCall, 2)} |`),
    `| inner commands, total | ${span(innerCalls, 2)} | ${span(innerUsec, 2)} | |`,
    `| EVALSHA minus inner (Lua and call glue) | | ${span(
      evalUsec.map((u, i) => u - (innerUsec[i] ?? 0)),
      2,
    )} | |`,
    '',
    `Redis CPU per set: ${span(
      results.map((r) => r.cpuUsec / r.sets),
      2,
    )} us; sets/s: ${span(
      results.map((r) => (r.sets / r.wallMs) * 1000),
      0,
    )}; ` +
      `events received per set: ${span(
        results.map((r) => r.events / r.sets),
        2,
      )}`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const settings = readSettings();
  const redis = await startRedisProcess();
  try {
    const results: RunResult[] = [];
    for (let run = 0; run < settings.repeat; run += 1) {
      results.push(await runOnce(redis.url, settings, run));
      process.stderr.write(`run ${run + 1}/${settings.repeat} done\n`);
    }
    process.stdout.write(`${report(settings, results)}\n`);
  } finally {
    await redis.destroy();
  }
}

await main();
