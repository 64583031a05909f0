/**
 * A shared script of short conversations in today's Scratch 3 cloud protocol, over raw
 * WebSockets, to run against TurboWarp's cloud-server (the peer) and against our gateway,
 * and compare what each answered.
 *
 * Each exchange opens its clients on a fresh project id, sends its messages, waits for the
 * events that settle it (never a sleep), and records, for each client it labelled, every
 * frame the server sent (as canonical lines) and the close code the server sent (null: the
 * client was still open at the end). A script waits for *whichever* outcome comes first
 * (e.g. "A is closed, or B sees A's next set"), so it finishes with a record against a
 * server that behaves otherwise; a wait that saw neither is listed in `stalled`.
 *
 * Settling without sleeps: the Scratch 3 protocol answers nothing to a handshake or a set,
 * so a script proves a set was applied by a client that sees it (live, or in the snapshot
 * a later joiner gets), and proves something was ignored by a later set on the same socket
 * arriving (a server applies one socket's messages in order).
 *
 * Comparing: `comparable()` keeps the frame boundaries only for the clients an exchange
 * names in `exactFrames` (the join snapshot, one frame); elsewhere it compares lines,
 * since the peer batches its sends 60 times a second and the boundaries of live updates
 * depend on timing. Non-JSON text frames compare as `<text>` (the wording is free).
 * `compareAnswers()` lists the exchanges whose answers differ, except the known
 * differences given to it.
 */
import { randomInt } from 'node:crypto';
import { ScratchSocket, parseObject } from './scratch/socket.ts';
import type { ScratchSocketOptions } from './scratch/socket.ts';
import type { ScratchServer } from './scratch/target.ts';

export { ScratchSocket } from './scratch/socket.ts';
export type { ScratchServer, ScratchTarget } from './scratch/target.ts';

// --- records ---

export interface ClientAnswer {
  /** Each frame the server sent this client, as its lines in canonical form (empty lines dropped). */
  readonly frames: readonly (readonly string[])[];
  /** The same lines in one list: what a client that splits frames on `\n` sees. */
  readonly lines: readonly string[];
  /** The code the server closed this client with; null when it was still open at the end. */
  readonly close: number | null;
}

export interface ExchangeAnswer {
  readonly clients: Readonly<Record<string, ClientAnswer>>;
  /** Waits that timed out (the server did none of the things the script waited for). */
  readonly stalled: readonly string[];
}

const KEY_ORDER = ['method', 'name', 'value', 'new_name', 'project_id', 'user'];

/**
 * A received line in canonical form: a JSON object re-encoded with its keys in a fixed
 * order (method, name, value, new_name, project_id, user, then the rest sorted), value
 * types kept ("1" and 1 differ); anything else as `<text> ` and the line.
 */
export function canonicalLine(line: string): string {
  if (line.startsWith('<binary ')) return line;
  const message = parseObject(line);
  if (!message) return `<text> ${line}`;
  const keys = Object.keys(message).sort((a, b) => {
    const ia = KEY_ORDER.indexOf(a);
    const ib = KEY_ORDER.indexOf(b);
    if (ia !== -1 || ib !== -1) return (ia === -1 ? KEY_ORDER.length : ia) - (ib === -1 ? KEY_ORDER.length : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return JSON.stringify(Object.fromEntries(keys.map((key) => [key, message[key]])));
}

/** The canonical line of a server `set` (for writing expectations). */
export function setLine(name: string, value: unknown): string {
  return canonicalLine(JSON.stringify({ method: 'set', name, value }));
}

function answerOf(socket: ScratchSocket): ClientAnswer {
  const frames = socket.frames.map((frame) =>
    frame.startsWith('<binary ')
      ? [frame]
      : frame
          .split('\n')
          .filter((line) => line !== '')
          .map(canonicalLine),
  );
  return { frames, lines: frames.flat(), close: socket.closeCode };
}

// --- the script ---

export interface ExchangeContext {
  /** This exchange's project id: 9 digits, so it also works as a number. */
  readonly room: string;
  /** Another fresh project id. */
  newRoom(): string;
  /** Opens a client recorded under `label` (the n-th client opened goes to `server.url(n)`). */
  open(label: string, options?: ScratchSocketOptions): Promise<ScratchSocket>;
  /** Opens a recorded client and sends a handshake (`project_id` defaults to `room`). */
  join(label: string, user: string, projectId?: unknown): Promise<ScratchSocket>;
  /**
   * Proves the server applied `values` in `room` (default this exchange's): an unrecorded
   * client joins and waits until it has seen them all, in the join snapshot or live.
   */
  applied(values: Readonly<Record<string, unknown>>, room?: string): Promise<boolean>;
}

export interface Exchange {
  readonly name: string;
  /** What it exercises, in one line. */
  readonly about: string;
  /** Clients whose frame boundaries are part of the answer (e.g. a join snapshot). */
  readonly exactFrames?: readonly string[];
  run(ctx: ExchangeContext): Promise<void>;
}

/** Resolves when the first of `waits` resolves (the others are cancelled at the end). */
function first(...waits: Promise<boolean>[]): Promise<boolean> {
  return Promise.race(waits);
}

/** A and B join the room; returns both (B is the observer most exchanges use). */
async function pair(ctx: ExchangeContext): Promise<[ScratchSocket, ScratchSocket]> {
  const a = await ctx.join('A', 'alice');
  const b = await ctx.join('B', 'bob');
  return [a, b];
}

/**
 * A sends `payload` (something the peer refuses), then a valid set of `☁ z`; the exchange
 * settles when A is closed or B sees `☁ z` (so A stayed open and went on).
 */
async function refusedOrIgnored(ctx: ExchangeContext, payload: (a: ScratchSocket) => void, beforeHandshake = false): Promise<void> {
  const b = await ctx.join('B', 'bob');
  const a = beforeHandshake ? await ctx.open('A') : await ctx.join('A', 'alice');
  payload(a);
  if (beforeHandshake) a.handshake(ctx.room, 'alice');
  a.set('☁ z', '99');
  await first(a.waitClose(), b.waitSet('☁ z', '99'));
}

export const SCRATCH_EXCHANGES: readonly Exchange[] = [
  {
    name: 'join an existing room',
    about: 'handshake with a string project_id; a later joiner gets the room’s values as set lines in one frame; the handshake itself gets no answer',
    exactFrames: ['B'],
    async run(ctx) {
      const a = await ctx.join('A', 'alice');
      a.set('☁ a', '1');
      a.set('☁ b', '2');
      await ctx.applied({ '☁ a': '1', '☁ b': '2' });
      const b = await ctx.join('B', 'bob');
      await b.waitFor(() => b.view.size >= 2, 'the snapshot of ☁ a and ☁ b');
    },
  },
  {
    name: 'numeric project_id',
    about: 'a handshake whose project_id is a number joins the same room as its decimal string',
    async run(ctx) {
      const a = await ctx.join('A', 'alice', Number(ctx.room));
      const b = await ctx.join('B', 'bob', ctx.room);
      a.set('☁ a', '5');
      await first(a.waitClose(), b.waitSet('☁ a', '5'));
    },
  },
  {
    name: 'set and create new variables, a number value',
    about: 'set and create both create a variable on first use; a number value is relayed',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      a.set('☁ a', '10');
      a.send({ method: 'create', name: '☁ b', value: '20' });
      a.set('☁ c', 30);
      await first(
        a.waitClose(),
        b.waitFor(() => ['☁ a', '☁ b', '☁ c'].every((name) => b.view.has(name)), '☁ a, ☁ b and ☁ c'),
      );
    },
  },
  {
    name: 'accepted edge values',
    about: 'values at the edge of "numeric": empty, negative, trailing or leading dot, leading zeros, a negative float number',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      const values: [string, unknown][] = [
        ['☁ e1', ''],
        ['☁ e2', '-5'],
        ['☁ e3', '1.'],
        ['☁ e4', '.5'],
        ['☁ e5', '007'],
        ['☁ e6', -2.5],
      ];
      for (const [name, value] of values) a.set(name, value);
      await first(a.waitClose(), b.waitSet('☁ e6', -2.5));
    },
  },
  {
    name: 'invalid values',
    about: 'non-numeric values (letters, exponent, two dots, lone dot or minus, a space, true, null, an array) are ignored; the client stays',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      for (const value of ['abc', '1e3', '1.2.3', '.', '-', ' 1', true, null, [1]]) a.set('☁ a', value);
      a.set('☁ b', '7');
      await first(a.waitClose(), b.waitSet('☁ b', '7'));
    },
  },
  {
    name: 'number edges',
    about: 'JSON numbers written as 1e3, -0, beyond 2^53 and 1e21 (raw JSON text): relayed as the number JavaScript reads, with its type',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      for (const [name, literal] of [
        ['☁ n1', '1e3'],
        ['☁ n2', '-0'],
        ['☁ n3', '12345678901234567890'],
        ['☁ n4', '1e21'],
      ]) {
        a.send(`{"method":"set","name":"${name}","value":${literal}}`);
      }
      await first(
        a.waitClose(),
        b.waitFor(() => b.view.has('☁ n4'), '☁ n4'),
      );
    },
  },
  {
    name: 'a number beyond a double',
    about: 'a JSON number 1e400 (JSON.parse reads Infinity, which JSON cannot write) is ignored; the client stays',
    async run(ctx) {
      await refusedOrIgnored(ctx, (a) => a.send('{"method":"set","name":"☁ a","value":1e400}'));
    },
  },
  {
    name: 'number-like strings',
    about: 'strings JavaScript reads as numbers but Scratch does not ("NaN", "Infinity", "0x10", blanks) are ignored ("" is a value: accepted edge values)',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      for (const value of ['NaN', 'Infinity', '-Infinity', '0x10', ' ', '\t']) a.set('☁ a', value);
      a.set('☁ b', '7');
      await first(a.waitClose(), b.waitSet('☁ b', '7'));
    },
  },
  {
    name: 'long values',
    about: 'a value of 1,024 digits, then one of 100,001 digits (over the peer’s 100,000-character limit), then a short one',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      a.set('☁ a', '1'.repeat(1024));
      a.set('☁ a', '2'.repeat(100_001));
      a.set('☁ b', '3');
      await first(a.waitClose(), b.waitSet('☁ b', '3'));
    },
  },
  {
    name: 'set without a value',
    about: 'a set with no value field, then a valid set',
    async run(ctx) {
      await refusedOrIgnored(ctx, (a) => a.send({ method: 'set', name: '☁ a' }));
    },
  },
  {
    name: 'set without a name',
    about: 'a set with no name field, then a valid set',
    async run(ctx) {
      await refusedOrIgnored(ctx, (a) => a.send({ method: 'set', value: '1' }));
    },
  },
  {
    name: 'variable names',
    about: 'a name without a cloud prefix, one with the ":cloud: " prefix, one with "☁ "',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      a.set('plain', '1');
      a.set(':cloud: b', '2');
      a.set('☁ c', '3');
      await first(a.waitClose(), b.waitSet('☁ c', '3'));
    },
  },
  {
    name: 'eleven variables',
    about: 'a room of 11 variables (more than Scratch allows), then a joiner gets them all in its snapshot',
    async run(ctx) {
      const a = await ctx.join('A', 'alice');
      const values: Record<string, string> = {};
      for (let i = 1; i <= 11; i++) {
        a.set(`☁ v${i}`, String(i));
        values[`☁ v${i}`] = String(i);
      }
      await ctx.applied(values);
      const b = await ctx.join('B', 'bob');
      await first(a.waitClose(), b.waitSet('☁ v11', '11'));
    },
  },
  {
    name: 'two messages in one frame',
    about: 'two sets in one text frame separated by \\n (scratchattach does this), no trailing \\n',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      a.send(`${JSON.stringify({ method: 'set', name: '☁ a', value: '1' })}\n${JSON.stringify({ method: 'set', name: '☁ b', value: '2' })}`);
      await first(
        a.waitClose(),
        b.waitFor(() => b.view.has('☁ a') && b.view.has('☁ b'), '☁ a and ☁ b'),
      );
    },
  },
  {
    name: 'one message and a trailing newline',
    about: 'one set followed by \\n in its frame (Scratch’s own client ends every frame so), then a set in its own frame',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      a.send(`${JSON.stringify({ method: 'set', name: '☁ a', value: '1' })}\n`);
      a.set('☁ b', '2');
      await first(a.waitClose(), b.waitSet('☁ b', '2'));
    },
  },
  {
    name: 'two messages and a trailing newline',
    about: 'two sets separated and followed by \\n in one frame',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      a.send(`${JSON.stringify({ method: 'set', name: '☁ a', value: '1' })}\n${JSON.stringify({ method: 'set', name: '☁ b', value: '2' })}\n`);
      await first(
        a.waitClose(),
        b.waitFor(() => b.view.has('☁ a') && b.view.has('☁ b'), '☁ a and ☁ b'),
      );
    },
  },
  {
    name: 'user and project_id on later messages',
    about: 'a set carrying another project_id and user (Scratch adds both to every message) still goes to the handshake’s room',
    async run(ctx) {
      const [a, b] = await pair(ctx);
      a.send({ method: 'set', name: '☁ a', value: '3', project_id: ctx.newRoom(), user: 'mallory' });
      await first(a.waitClose(), b.waitSet('☁ a', '3'));
    },
  },
  {
    name: 'rename and delete',
    about: 'rename ☁ a to ☁ c and delete ☁ b, then set ☁ d; a later joiner shows what the room holds',
    exactFrames: ['C'],
    async run(ctx) {
      const a = await ctx.join('A', 'alice');
      a.set('☁ a', '1');
      a.set('☁ b', '2');
      await ctx.applied({ '☁ a': '1', '☁ b': '2' });
      const b = await ctx.join('B', 'bob');
      await b.waitFor(() => b.view.size >= 2, 'the snapshot of ☁ a and ☁ b');
      a.send({ method: 'rename', name: '☁ a', new_name: '☁ c' });
      a.send({ method: 'delete', name: '☁ b' });
      a.set('☁ d', '4');
      await first(a.waitClose(), b.waitSet('☁ d', '4'));
      await ctx.applied({ '☁ d': '4' });
      const c = await ctx.join('C', 'carol');
      await c.waitSet('☁ d', '4');
    },
  },
  {
    name: 'second handshake',
    about: 'a handshake on a socket that already joined',
    async run(ctx) {
      await refusedOrIgnored(ctx, (a) => a.handshake(ctx.room, 'alice'));
    },
  },
  {
    name: 'bad JSON',
    about: 'a frame that is not JSON',
    async run(ctx) {
      await refusedOrIgnored(ctx, (a) => a.send('{"method":"set",'));
    },
  },
  {
    name: 'JSON without a method',
    about: 'a JSON object with no method',
    async run(ctx) {
      await refusedOrIgnored(ctx, (a) => a.send({ name: '☁ a', value: '1' }));
    },
  },
  {
    name: 'unknown method',
    about: 'a message whose method is not handshake, set, create, rename or delete',
    async run(ctx) {
      await refusedOrIgnored(ctx, (a) => a.send({ method: 'ping' }));
    },
  },
  {
    name: 'username with invalid characters',
    about: 'a handshake whose user has a space and a "!"',
    async run(ctx) {
      const b = await ctx.join('B', 'bob');
      const a = await ctx.join('A', 'bad name!');
      a.set('☁ z', '99');
      await first(a.waitClose(), b.waitSet('☁ z', '99'));
    },
  },
  {
    name: 'username of 21 characters',
    about: 'a handshake whose user is one character over 20',
    async run(ctx) {
      const b = await ctx.join('B', 'bob');
      const a = await ctx.join('A', 'a'.repeat(21));
      a.set('☁ z', '99');
      await first(a.waitClose(), b.waitSet('☁ z', '99'));
    },
  },
  {
    name: 'username of 2 characters',
    about: 'a handshake whose user is 2 characters (our 2020 dialect wants 3 or more)',
    async run(ctx) {
      const b = await ctx.join('B', 'bob');
      const a = await ctx.join('A', 'ab');
      a.set('☁ z', '99');
      await first(a.waitClose(), b.waitSet('☁ z', '99'));
    },
  },
  {
    name: 'handshake without user',
    about: 'a handshake with no user field',
    async run(ctx) {
      const b = await ctx.join('B', 'bob');
      const a = await ctx.open('A');
      a.send({ method: 'handshake', project_id: ctx.room });
      a.set('☁ z', '99');
      await first(a.waitClose(), b.waitSet('☁ z', '99'));
    },
  },
  {
    name: 'same username twice in a room',
    about: 'two clients handshake with the same user in one room (one person, two tabs); each sees the other’s set',
    async run(ctx) {
      const a = await ctx.join('A', 'twin');
      const b = await ctx.join('B', 'twin');
      a.set('☁ a', '1');
      await first(a.waitClose(), b.waitClose(), b.waitSet('☁ a', '1'));
      b.set('☁ b', '2');
      await first(a.waitClose(), b.waitClose(), a.waitSet('☁ b', '2'));
    },
  },
  {
    name: 'binary frame',
    about: 'a binary frame after the handshake, then a set',
    async run(ctx) {
      await refusedOrIgnored(ctx, (a) => a.sendBinary(new Uint8Array([1, 2, 3])));
    },
  },
  {
    name: 'frame before the handshake',
    about: 'a set before any handshake, then the handshake and a set',
    async run(ctx) {
      await refusedOrIgnored(ctx, (a) => a.set('☁ a', '1'), true);
    },
  },
  {
    name: 'Scratch session cookie',
    about: 'an upgrade carrying Cookie: scratchsessionsid=… (a library leaking a login), then a handshake and a set',
    async run(ctx) {
      const b = await ctx.join('B', 'bob');
      const a = await ctx.open('A', { headers: { Cookie: 'scratchsessionsid=abc123; scratchcsrftoken=def456' } });
      a.handshake(ctx.room, 'alice');
      a.set('☁ z', '99');
      await first(a.waitClose(), b.waitSet('☁ z', '99'));
    },
  },
  {
    name: 'Scratch session cookie not first',
    about: 'the same cookie after another one (Cookie: other=1; scratchsessionsid=…)',
    async run(ctx) {
      const b = await ctx.join('B', 'bob');
      const a = await ctx.open('A', { headers: { Cookie: 'other=1; scratchsessionsid=abc123' } });
      a.handshake(ctx.room, 'alice');
      a.set('☁ z', '99');
      await first(a.waitClose(), b.waitSet('☁ z', '99'));
    },
  },
];

// --- running ---

function freshRoom(): string {
  return String(randomInt(100_000_000, 1_000_000_000));
}

/** Runs one exchange against `server` and returns what the server answered. */
export async function runExchange(exchange: Exchange, server: ScratchServer, options: { waitMs?: number } = {}): Promise<ExchangeAnswer> {
  const recorded = new Map<string, ScratchSocket>();
  const helpers: ScratchSocket[] = [];
  let clients = 0;
  let helperCount = 0;
  const room = freshRoom();
  const socketOptions = (extra?: ScratchSocketOptions): ScratchSocketOptions => ({ waitMs: options.waitMs, ...extra });

  const ctx: ExchangeContext = {
    room,
    newRoom: freshRoom,
    async open(label, extra) {
      if (recorded.has(label)) throw new Error(`${exchange.name}: client ${label} opened twice`);
      const socket = await ScratchSocket.connect(server.url(clients++), label, socketOptions(extra));
      recorded.set(label, socket);
      return socket;
    },
    async join(label, user, projectId = room) {
      const socket = await ctx.open(label);
      socket.handshake(projectId, user);
      return socket;
    },
    async applied(values, inRoom = room) {
      helperCount++;
      const helper = await ScratchSocket.connect(server.url(clients++), `(helper ${helperCount})`, socketOptions());
      helpers.push(helper);
      helper.handshake(inRoom, `syncbot${helperCount}`);
      const entries = Object.entries(values);
      const seen = await helper.waitFor(
        () => entries.every(([name, value]) => helper.view.has(name) && String(helper.view.get(name)) === String(value)),
        `the server to have applied ${entries.map(([name, value]) => `${name}=${String(value)}`).join(', ')}`,
      );
      await helper.close();
      return seen;
    },
  };

  let failure: unknown = null;
  try {
    await exchange.run(ctx);
  } catch (error) {
    failure = error;
  }
  // Record before closing: what the server sent up to now, and whether it had closed.
  const answers = Object.fromEntries([...recorded].map(([label, socket]) => [label, answerOf(socket)]));
  const stalled = [...recorded.values(), ...helpers].flatMap((socket) => socket.stalled);
  await Promise.all([...recorded.values(), ...helpers].map((socket) => socket.close()));
  if (failure !== null) throw failure;
  return { clients: answers, stalled };
}

/** Runs every exchange in turn (each on its own project id); answers by exchange name. */
export async function runExchanges(
  exchanges: readonly Exchange[],
  server: ScratchServer,
  options: { waitMs?: number } = {},
): Promise<Map<string, ExchangeAnswer>> {
  const answers = new Map<string, ExchangeAnswer>();
  for (const exchange of exchanges) answers.set(exchange.name, await runExchange(exchange, server, options));
  return answers;
}

// --- comparing ---

/** The parts of an answer two servers must agree on (see the file comment). */
export interface ComparableAnswer {
  readonly clients: Readonly<
    Record<string, { readonly frames?: readonly (readonly string[])[]; readonly lines?: readonly string[]; readonly close: number | null }>
  >;
  readonly stalled: readonly string[];
}

function withoutWording(line: string): string {
  return line.startsWith('<text> ') ? '<text>' : line;
}

export function comparable(exchange: Exchange, answer: ExchangeAnswer): ComparableAnswer {
  const exact = new Set(exchange.exactFrames ?? []);
  const clients = Object.fromEntries(
    Object.entries(answer.clients).map(([label, client]) => [
      label,
      exact.has(label)
        ? { frames: client.frames.map((frame) => frame.map(withoutWording)), close: client.close }
        : { lines: client.lines.map(withoutWording), close: client.close },
    ]),
  );
  return { clients, stalled: answer.stalled };
}

/** Exchange name -> why our server answers otherwise than the peer (documented departures). */
export type KnownDifferences = Readonly<Record<string, string>>;

/**
 * Where our gateway answers otherwise than the peer on purpose, each with its reason; the
 * same list as docs/PROTOCOL.md's "Scratch 3 clients: where we differ from TurboWarp's server".
 */
export const KNOWN_GATEWAY_DIFFERENCES: KnownDifferences = {
  'invalid values': 'a number in exponent notation ("1e3") is a valid value: Scratch writes large numbers that way',
  'eleven variables': 'a join snapshot lists the variables in name order, not in creation order (clients apply it as a whole)',
  'variable names': 'a name must start with "☁ " or ":cloud: " (Scratch cloud variables always do): otherwise 4000',
  'set without a name': 'a set without a name is a protocol error (4000), not a variable named undefined',
  'two messages in one frame': 'every message of a frame is applied in order (scratchattach batches sets); the peer closes with 4000',
  'two messages and a trailing newline': 'every message of a frame is applied in order; the peer closes with 4000',
  'binary frame': 'a binary frame is a protocol error (4000), as for every dialect; the peer ignores it',
  'Scratch session cookie not first': 'a Scratch session cookie anywhere in the Cookie header is refused (4005), not only when it comes first',
  'Scratch session cookie':
    "no text frame before the 4005: the warning is the close frame's reason (Mist stops on a frame that is not JSON, before it reads the close)",
};

export interface AnswerMismatch {
  readonly exchange: string;
  readonly reference: ComparableAnswer;
  readonly other: ComparableAnswer;
}

/**
 * The exchanges where `other` answered otherwise than `reference` (the peer), leaving out
 * those listed in `known`. Also lists a known difference that no longer differs (with
 * equal answers), so the list does not go stale.
 */
export function compareAnswers(
  exchanges: readonly Exchange[],
  reference: ReadonlyMap<string, ExchangeAnswer>,
  other: ReadonlyMap<string, ExchangeAnswer>,
  known: KnownDifferences = {},
): { readonly mismatches: readonly AnswerMismatch[]; readonly staleKnown: readonly string[] } {
  const mismatches: AnswerMismatch[] = [];
  const staleKnown: string[] = [];
  for (const exchange of exchanges) {
    const a = reference.get(exchange.name);
    const b = other.get(exchange.name);
    if (!a || !b) throw new Error(`no answer for ${exchange.name}`);
    const left = comparable(exchange, a);
    const right = comparable(exchange, b);
    const same = JSON.stringify(left) === JSON.stringify(right);
    if (exchange.name in known) {
      if (same) staleKnown.push(exchange.name);
    } else if (!same) {
      mismatches.push({ exchange: exchange.name, reference: left, other: right });
    }
  }
  return { mismatches, staleKnown };
}
