/**
 * The convergence scenario of DESIGN.md invariant 3: 8 clients set 2 variables at random,
 * concurrently, 20 sets a second each for 2 s; once every set is stored, a newcomer reads the snapshot, and every
 * client's view must come to equal it.
 */
import type { RoomStore } from '@cloudvars/rooms';
import { TestClient, until } from './client.ts';

export interface ConvergenceOutcome {
  readonly room: string;
  readonly stored: ReadonlyMap<string, string>;
  /** Client username -> its final view, for every client whose view differs from `stored`. */
  readonly diverged: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly setsSent: number;
}

const VARIABLES = ['☁ x', '☁ y'] as const;
/** Below the 30/s rate limit, with room for the handshake's token. */
const SETS_PER_SECOND = 20;

export async function runConvergence(options: {
  urls: readonly string[];
  room: string;
  store: RoomStore;
  clients?: number;
  setsPerClient?: number;
}): Promise<ConvergenceOutcome> {
  const { urls, room, store } = options;
  const count = options.clients ?? 8;
  // A fixed count, not a deadline, so a loaded machine runs the same scenario, only slower.
  const setsPerClient = options.setsPerClient ?? SETS_PER_SECOND * 2;
  const initial = Object.fromEntries(VARIABLES.map((name) => [name, '0']));
  const clients: TestClient[] = [];
  for (let i = 0; i < count; i++) {
    const url = urls[i % urls.length] as string;
    clients.push(await TestClient.join(url, room, `writer${i}`, initial));
  }
  await until(async () => (await store.memberCount(room)) === count, { what: `${count} writers joined ${room}` });

  let setsSent = 0;
  await Promise.all(
    clients.map(async (client, index) => {
      for (let n = 0; n < setsPerClient; n++) {
        const variable = VARIABLES[Math.floor(Math.random() * VARIABLES.length)] as string;
        client.set(variable, `${index}${String(n).padStart(4, '0')}`);
        setsSent++;
        await new Promise((resolve) => setTimeout(resolve, 1000 / SETS_PER_SECOND));
      }
    }),
  );
  // Each stored set increments seq by one: wait until the store has applied all of them.
  await until(async () => (await store.snapshot(room))?.seq === setsSent, { timeoutMs: 10_000, what: `${setsSent} sets stored in ${room}` });

  const newcomer = await TestClient.join(urls[0] as string, room, 'newcomer', initial);
  const [snapshotFrame] = await newcomer.waitFrames(1);
  const stored = new Map(
    (snapshotFrame ?? '').split('\n').map((line) => {
      const message = JSON.parse(line) as { variable: string; value: string };
      return [message.variable, message.value] as const;
    }),
  );
  const equal = (view: ReadonlyMap<string, string>) => VARIABLES.every((name) => view.get(name) === stored.get(name));
  // Views settle as the last frames arrive; the timeout only bounds a failing run.
  await until(() => clients.every((client) => equal(client.view)), { timeoutMs: 5_000, what: 'every view to settle' }).catch(() => undefined);
  const diverged = new Map<string, ReadonlyMap<string, string>>();
  clients.forEach((client, index) => {
    if (!equal(client.view)) diverged.set(`writer${index}`, new Map(client.view));
  });
  for (const client of [...clients, newcomer]) client.close();
  return { room, stored, diverged, setsSent };
}
