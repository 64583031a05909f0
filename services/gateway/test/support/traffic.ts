/**
 * A room under steady traffic for fault tests: clients of every dialect spread over pods,
 * each writing a variable of its own (so its sets are numbered and a lost one would show)
 * and, now and then, one they all share (so pods race on it). Values are numbers: the
 * writer's number, then its counter, sent as strings: a Scratch 3 client's are stored as
 * strings (marked), a 2020 client's as number text, so the room holds both types. Checks:
 * every client holds what the store holds, with its type (`receivedValue`), every client is still connected, the store counts every client as a member.
 */
import { parseServerFrame, receivedValue, type CloudValue, type DialectName } from '@cloudvars/protocol';
import type { RoomStore } from '@cloudvars/rooms';
import { TestClient, until } from './client.ts';

export const SHARED = '☁ shared';

export interface TrafficClient {
  readonly client: TestClient;
  readonly name: string;
  readonly pod: number;
  readonly dialect: DialectName;
  /** The variable only this client writes. */
  readonly own: string;
  /** Sets sent so far. */
  sent: number;
}

export interface TrafficOptions {
  readonly room: string;
  /** One WebSocket URL per pod; clients go to every pod, every dialect on each. */
  readonly urls: readonly string[];
  readonly dialects?: readonly DialectName[];
  /** Reads the room as the store holds it (through a path no fault touches). */
  readonly store: RoomStore;
  /** Pause between two sets of one client. Default 100 ms: 10 sets a second, under every rate limit. */
  readonly intervalMs?: number;
}

export interface Traffic {
  readonly room: string;
  readonly clients: readonly TrafficClient[];
  readonly variables: readonly string[];
  /** Starts every client writing; `stop` ends it. */
  start(): void;
  stop(): Promise<void>;
  /** Sets sent so far by the clients of `pod` (all pods when undefined). */
  sent(pod?: number): number;
  /** The store's values now, as stored (a string that reads as a number marked: stored-value.ts). */
  stored(): Promise<Map<string, string>>;
  /** Resolves once every client holds the store's values, each with its type; the error names who differs. */
  converged(timeoutMs?: number): Promise<void>;
  /** Resolves once `from`'s next set (or a later one) is shown by `to`: a set crossing pods, or not. */
  crosses(from: TrafficClient, to: TrafficClient, timeoutMs?: number): Promise<void>;
  /**
   * Where a client was shown an older value of another client's own variable after a newer
   * one (each writer's values only grow, and the store applies them in order): "name: variable a after b".
   */
  outOfOrder(): string[];
  /** Clients whose socket closed, with the code. */
  closed(): Array<[string, number]>;
  close(): void;
}

export const ALL_DIALECTS: readonly DialectName[] = ['scratch', 'seed', 'legacy'];

export async function startTraffic(options: TrafficOptions): Promise<Traffic> {
  const { room, urls, store } = options;
  const dialects = options.dialects ?? ALL_DIALECTS;
  const intervalMs = options.intervalMs ?? 100;
  const count = urls.length * dialects.length;
  const owns = Array.from({ length: count }, (_, i) => `☁ w${i}`);
  const variables = [...owns, SHARED];
  // 2020 clients declare every variable; today's clients take the room as it is.
  const initial = Object.fromEntries(variables.map((name) => [name, '0']));
  const clients: TrafficClient[] = [];
  let index = 0;
  // A 2020 client first, so the room exists with every variable before a scratch client joins.
  const order = [...dialects].sort((a, b) => Number(a === 'scratch') - Number(b === 'scratch'));
  for (const dialect of order) {
    for (const [pod, url] of urls.entries()) {
      const name = `p${pod}${dialect}`;
      const client = await TestClient.join(url, room, name, dialect === 'scratch' ? {} : initial, dialect);
      clients.push({ client, name, pod, dialect, own: owns[index] as string, sent: 0 });
      index += 1;
      if (index === 1) await until(async () => (await store.memberCount(room)) === 1, { what: `${room} created` });
    }
  }
  await until(async () => (await store.memberCount(room)) === count, { what: `${count} clients joined ${room}` });
  // Today's clients' views start from their snapshot frame.
  for (const c of clients) if (c.dialect === 'scratch') await c.client.waitFrames(1);

  let writing: Promise<void> | null = null;
  let running = false;
  const stored = async (): Promise<Map<string, string>> => new Map((await store.snapshot(room))?.variables ?? []);
  const write = async (c: TrafficClient, offset: number): Promise<void> => {
    // Spread the writers over the interval.
    await new Promise((resolve) => setTimeout(resolve, (offset * intervalMs) / count));
    while (running) {
      if (c.client.closed !== null) return;
      c.sent += 1;
      const value = `${clients.indexOf(c) + 1}${String(c.sent).padStart(6, '0')}`;
      c.client.set(c.sent % 5 === 0 ? SHARED : c.own, value);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  return {
    room,
    clients,
    variables,
    start() {
      if (running) return;
      running = true;
      writing = Promise.all(clients.map((c, i) => write(c, i))).then(() => undefined);
    },
    async stop() {
      running = false;
      await writing;
    },
    sent: (pod) => clients.filter((c) => pod === undefined || c.pod === pod).reduce((sum, c) => sum + c.sent, 0),
    stored,
    async converged(timeoutMs = 15_000) {
      let last = new Map<string, string>();
      const expected = (c: TrafficClient, name: string): CloudValue | undefined => {
        const stored = last.get(name);
        return stored === undefined ? undefined : receivedValue(c.dialect, stored);
      };
      const differs = (): string[] =>
        clients.flatMap((c) => {
          const wrong = variables.filter((name) => c.client.values.get(name) !== expected(c, name));
          const shown = (name: string): string => `${name}=${JSON.stringify(c.client.values.get(name))} (should be ${JSON.stringify(expected(c, name))})`;
          return wrong.length === 0 ? [] : [`${c.name} holds ${wrong.map(shown).join(', ')}`];
        });
      try {
        await until(
          async () => {
            last = await stored();
            return differs().length === 0;
          },
          { timeoutMs, what: "every client to hold the store's values" },
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}: ${differs().join('; ')}`, { cause: error });
      }
    },
    async crosses(from, to, timeoutMs = 10_000) {
      // A value nobody sent before: the counter only grows.
      from.sent += 1;
      const value = `${clients.indexOf(from) + 1}${String(from.sent).padStart(6, '0')}`;
      from.client.set(from.own, value);
      // That value or a later one of the same writer (its traffic may still be running).
      await until(() => Number(to.client.view.get(from.own) ?? 0) >= Number(value), { timeoutMs, what: `${from.name}'s set ${value} to reach ${to.name}` });
    },
    outOfOrder() {
      const found: string[] = [];
      for (const c of clients) {
        const last = new Map<string, number>();
        for (const frame of c.client.frames) {
          for (const { variable, value } of parseServerFrame(frame, c.dialect)) {
            if (variable === SHARED || variable === c.own) continue;
            const before = last.get(variable) ?? 0;
            if (Number(value) < before) found.push(`${c.name}: ${variable} ${value} after ${before}`);
            last.set(variable, Math.max(before, Number(value)));
          }
        }
      }
      return found;
    },
    closed: () => clients.flatMap((c) => (c.client.closed === null ? [] : [[c.name, c.client.closed.code] as [string, number]])),
    close() {
      running = false;
      for (const c of clients) c.client.close();
    },
  };
}
