/**
 * The convergence scenario of DESIGN.md invariant 3: 8 clients set 2 variables at random,
 * concurrently, 20 sets a second each for 2 s; once every set is stored, a newcomer reads
 * the snapshot, and every client's view must come to equal it. The writers may speak any
 * dialects, in turn (a mixed room); the first one creates the room. The randomness comes
 * from `seed`, so a failing run can be replayed (TEST_SEED).
 */
import { parseServerFrame, type DialectName } from '@cloudvars/protocol';
import type { RoomStore } from '@cloudvars/rooms';
import { seededRandom } from '@cloudvars/test-support/seeded-random';
import { TestClient, until } from './client.ts';

export interface ConvergenceOutcome {
  readonly room: string;
  readonly seed: number;
  readonly stored: ReadonlyMap<string, string>;
  /** Client username -> its final view, for every client whose view differs from `stored`. */
  readonly diverged: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly setsSent: number;
}

const VARIABLES = ['☁ x', '☁ y'] as const;
/** Below the 30/s rate limit, with room for the handshake's token. */
const SETS_PER_SECOND = 20;
// Joins of three gateway processes on a machine busy with other work took over 5 s once
// (a timeout only bounds a failing run, so it can be generous).
const JOIN_WAIT_MS = 20_000;

export async function runConvergence(options: {
  urls: readonly string[];
  room: string;
  store: RoomStore;
  seed: number;
  clients?: number;
  setsPerClient?: number;
  /** The writers' dialects, taken in turn; the first writer creates the room. Default: seed. */
  dialects?: readonly DialectName[];
  /**
   * How many of the sent sets the servers have dealt with. Default: the room's seq (each
   * stored set adds one). Where sets may be superseded before they are stored (waiting for
   * the rate), count those too.
   */
  settled?: () => Promise<number>;
}): Promise<ConvergenceOutcome> {
  const { urls, room, store, seed } = options;
  const random = seededRandom(seed);
  const count = options.clients ?? 8;
  const dialects = options.dialects ?? ['seed'];
  // A fixed count, not a deadline, so a loaded machine runs the same scenario, only slower.
  const setsPerClient = options.setsPerClient ?? SETS_PER_SECOND * 2;
  const initial = Object.fromEntries(VARIABLES.map((name) => [name, '0']));
  const clients: TestClient[] = [];
  for (let i = 0; i < count; i++) {
    const url = urls[i % urls.length] as string;
    const dialect = dialects[i % dialects.length] as DialectName;
    clients.push(await TestClient.join(url, room, `writer${i}`, initial, dialect));
    // The creator first: a client that declares no variables would create an empty room.
    if (i === 0) await until(async () => (await store.memberCount(room)) === 1, { what: `${room} created`, timeoutMs: JOIN_WAIT_MS });
  }
  await until(async () => (await store.memberCount(room)) === count, { what: `${count} writers joined ${room}`, timeoutMs: JOIN_WAIT_MS });

  // Every choice drawn up front, in one order, so the seed alone decides the scenario.
  const plans = clients.map(() => Array.from({ length: setsPerClient }, () => VARIABLES[Math.floor(random() * VARIABLES.length)] as string));
  let setsSent = 0;
  await Promise.all(
    clients.map(async (client, index) => {
      for (const [n, variable] of (plans[index] ?? []).entries()) {
        client.set(variable, `${index}${String(n).padStart(4, '0')}`);
        setsSent++;
        await new Promise((resolve) => setTimeout(resolve, 1000 / SETS_PER_SECOND));
      }
    }),
  );
  const settled = options.settled ?? (async () => (await store.snapshot(room))?.seq ?? 0);
  await until(async () => (await settled()) === setsSent, { timeoutMs: 10_000, what: `${setsSent} sets dealt with in ${room}` });

  const newcomer = await TestClient.join(urls[0] as string, room, 'newcomer', initial);
  const [snapshotFrame] = await newcomer.waitFrames(1);
  const stored = new Map(parseServerFrame(snapshotFrame ?? '', 'seed').map((set) => [set.variable, set.value] as const));
  const equal = (view: ReadonlyMap<string, string>) => VARIABLES.every((name) => view.get(name) === stored.get(name));
  // Views settle as the last frames arrive; the timeout only bounds a failing run.
  await until(() => clients.every((client) => equal(client.view)), { timeoutMs: 5_000, what: 'every view to settle' }).catch(() => undefined);
  const diverged = new Map<string, ReadonlyMap<string, string>>();
  clients.forEach((client, index) => {
    if (!equal(client.view)) diverged.set(`writer${index}`, new Map(client.view));
  });
  for (const client of [...clients, newcomer]) client.close();
  return { room, seed, stored, diverged, setsSent };
}

/** A failure message that says how to replay the run. */
export function replayHint(outcome: ConvergenceOutcome): string {
  return `room ${outcome.room} diverged; replay with TEST_SEED=${outcome.seed}`;
}
