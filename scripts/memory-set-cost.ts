/**
 * CPU per set in the memory engine, in process (issue 21, "less JavaScript per delivered
 * update"): `rooms` rooms of `members` joined members each, sets spread over them round-robin
 * as the bench's clients send them (a today's client's options, every client at one address,
 * a few variables per room, numbers as values; `--empty` rooms left empty), each awaited so the bus drains once per set as
 * it does behind a socket's read. The bus listener only counts: this measures the engine, not
 * the gateway's fan-out. Reports process.cpuUsage (user + system) per set after a warm-up.
 *
 *   node --import tsx scripts/memory-set-cost.ts [--engine <memory/engine.ts or .js>] [--sets N]
 *     [--rooms 100] [--members 10] [--variables 3] [--empty 0] [--ledger-bytes 536870912]
 *   node --import tsx scripts/memory-set-cost.ts --compare <base engine.ts> [--rounds 5]
 *
 * `--compare` runs a fresh process per measurement, alternating the base engine and this
 * tree's, and prints each one's median and spread (the machine is shared: compare medians).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { createMemoryEngine } from '../packages/rooms/src/memory/engine.ts';

type EngineModule = { readonly createMemoryEngine: typeof createMemoryEngine };

const OWN_ENGINE = fileURLToPath(new URL('../packages/rooms/src/memory/engine.ts', import.meta.url));

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: OWN_ENGINE },
    rooms: { type: 'string', default: '100' },
    members: { type: 'string', default: '10' },
    variables: { type: 'string', default: '3' },
    /** Rooms joined once and left, waiting for their ttl as a live server's do: the store looks at them at every call. */
    empty: { type: 'string', default: '0' },
    /** MAX_STORED_BYTES_PER_ADDRESS's default; `pnpm bench` runs with 0 (no ledger). */
    'ledger-bytes': { type: 'string', default: String(512 * 1024 * 1024) },
    sets: { type: 'string', default: '300000' },
    warmup: { type: 'string', default: '100000' },
    compare: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});

async function measure(): Promise<number> {
  const { createMemoryEngine } = (await import(pathToFileURL(args.engine).href)) as EngineModule;
  const rooms = Number(args.rooms);
  const members = Number(args.members);
  const variables = Number(args.variables);
  const engine = createMemoryEngine({
    limits: {
      maxClientsPerRoom: 1000,
      maxVariables: 128,
      maxRoomBytes: 262144,
      maxRooms: 100000,
      maxConnectionsPerAddress: 1_000_000,
      leaseTtlMs: 3_600_000,
      roomTtlMs: 3_600_000,
      untouchedRoomTtlMs: 60_000,
      logLength: 100,
      maxStoredBytesPerAddress: Number(args['ledger-bytes']),
    },
  });
  let delivered = 0;
  engine.bus.listen({ onEvent: () => (delivered += 1), onResync: () => undefined });
  const names = Array.from({ length: rooms }, (_, r) => `${100000 + r}`);
  await engine.bus.subscribe(names);
  for (const room of names) {
    for (let m = 0; m < members; m++) {
      const joined = await engine.store.join({
        room,
        connectionId: `${room}-${m}`,
        username: `player${m}`,
        address: '127.0.0.1',
        claimUsername: false,
        variables: null,
      });
      if (!joined.ok) throw new Error(`join refused: ${joined.reason}`);
    }
  }
  for (let e = 0; e < Number(args.empty); e++) {
    const lease = { room: `empty-${e}`, connectionId: `empty-${e}`, address: '127.0.0.1' };
    const joined = await engine.store.join({ ...lease, username: 'gone', claimUsername: false, variables: null });
    if (!joined.ok) throw new Error(`join refused: ${joined.reason}`);
    await engine.store.leave({ ...lease, usernameKey: null });
  }
  const variableNames = Array.from({ length: variables }, (_, v) => `☁ var${v}`);
  let i = 0;
  const run = async (count: number): Promise<void> => {
    for (const end = i + count; i < end; i++) {
      const room = names[i % rooms] as string;
      const variable = variableNames[Math.floor(i / rooms) % variables] as string;
      const result = await engine.store.set(room, `${room}-${i % members}`, variable, String(i % 1000), {
        create: true,
        user: `player${i % members}`,
        address: '127.0.0.1',
      });
      if (!result.ok) throw new Error(`set refused: ${result.reason}`);
    }
  };
  await run(Number(args.warmup));
  const sets = Number(args.sets);
  const before = process.cpuUsage();
  await run(sets);
  const used = process.cpuUsage(before);
  await new Promise((resolve) => setImmediate(resolve));
  if (delivered !== i) throw new Error(`delivered ${delivered} events of ${i} sets`);
  await engine.close();
  return (used.user + used.system) / sets;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function compare(base: string): void {
  const script = fileURLToPath(import.meta.url);
  const passed = [
    '--empty',
    args.empty,
    '--rooms',
    args.rooms,
    '--members',
    args.members,
    '--variables',
    args.variables,
    '--sets',
    args.sets,
    '--warmup',
    args.warmup,
    '--ledger-bytes',
    args['ledger-bytes'],
  ];
  const runs: Record<'base' | 'branch', number[]> = { base: [], branch: [] };
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const [which, engine] of [
      ['base', base],
      ['branch', OWN_ENGINE],
    ] as const) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', script, '--engine', engine, '--json', ...passed], { encoding: 'utf8' });
      const { usPerSet } = JSON.parse(out) as { usPerSet: number };
      runs[which].push(usPerSet);
      process.stderr.write(`round ${round + 1} ${which}: ${usPerSet.toFixed(3)} us per set\n`);
    }
  }
  for (const which of ['base', 'branch'] as const) {
    const list = runs[which];
    console.log(
      `${which}: median ${median(list).toFixed(3)} us per set (min ${Math.min(...list).toFixed(3)}, max ${Math.max(...list).toFixed(3)}, n ${list.length})`,
    );
  }
  console.log(`branch / base: ${(median(runs.branch) / median(runs.base)).toFixed(3)}`);
}

if (args.compare !== undefined) {
  compare(args.compare);
} else {
  const usPerSet = await measure();
  console.log(args.json ? JSON.stringify({ usPerSet }) : `${usPerSet.toFixed(3)} us per set (${args.engine})`);
}
