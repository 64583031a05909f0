/**
 * Values keep their JSON type (issue 17 item 1, docs/PROTOCOL.md "Value types"), on one node
 * and on two pods sharing Redis: a number a Scratch 3 client sends is a number every Scratch 3
 * client receives, live and in a later joiner's snapshot; a string stays a string; 2020
 * clients receive strings, and their number text is a number for Scratch 3 clients. The
 * number edges (`1e21`, `-0`, beyond 2^53, `1e400`, `005`) and the API's typed values too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API_ENV, admin, call, roomPath } from './support/api.ts';
import { TestClient, until } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import { membersAre } from './support/gateway.ts';
import { startTarget, TARGET_KINDS, type Target } from './support/targets.ts';

let roomCounter = 0;
const freshRoom = (): string => `types-${++roomCounter}-${Math.random().toString(36).slice(2, 8)}`;

/** Every value a client received, as the JSON it was sent in: the last one per name. */
function typedView(client: TestClient): Map<string, unknown> {
  const view = new Map<string, unknown>();
  for (const frame of client.frames) {
    for (const line of frame.split('\n')) {
      if (line === '') continue;
      const message = JSON.parse(line) as { name?: string; var?: string; variable?: string; value?: unknown };
      const name = message.name ?? message.var ?? message.variable;
      if (name !== undefined) view.set(name, message.value);
    }
  }
  return view;
}

/** What a Scratch 3 client sends, and the JSON value every Scratch 3 client receives. */
const SCRATCH_VALUES: readonly (readonly [name: string, sent: string | number, received: string | number])[] = [
  [cloud('number'), 12, 12],
  [cloud('string of digits'), '12', '12'],
  [cloud('negative float'), -2.5, -2.5],
  [cloud('string float'), '-2.5', '-2.5'],
  [cloud('empty'), '', ''],
  [cloud('exponent string'), '1e3', '1e3'],
  [cloud('exponent number'), 1e21, 1e21],
  [cloud('minus zero'), -0, 0],
  // Beyond 2^53 a JSON number is the nearest double (JSON.parse rounds), as on TurboWarp's server.
  [cloud('beyond 2^53'), 2 ** 64 + 1, 18446744073709552000],
  [cloud('string beyond 2^53'), '12345678901234567890', '12345678901234567890'],
];

describe.each(TARGET_KINDS)('value types (%s)', (kind) => {
  const targets: Target[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(targets.splice(0).map((target) => target.stop()));
  });

  async function start(env: Record<string, string> = {}): Promise<Target> {
    const target = await startTarget(kind, env);
    targets.push(target);
    return target;
  }

  async function join(
    url: string,
    room: string,
    user: string,
    variables: Record<string, string> | null = null,
    dialect: 'seed' | 'legacy' = 'seed',
  ): Promise<TestClient> {
    const client = await TestClient.join(url, room, user, variables ?? {}, variables === null ? 'scratch' : dialect);
    clients.push(client);
    return client;
  }

  it("relays a Scratch 3 client's numbers as numbers and strings as strings, live on every pod and in a later snapshot", async () => {
    const target = await start();
    const room = freshRoom();
    const writer = await join(target.url(), room, 'writer');
    const reader = await join(target.url(), room, 'reader');
    await membersAre(target.gw, room, 2);
    writer.send(SCRATCH_VALUES.map(([name, value]) => JSON.stringify({ method: 'set', name, value })).join('\n'));
    const expected = new Map(SCRATCH_VALUES.map(([name, , received]) => [name, received]));
    await until(() => typedView(reader).size === expected.size, { what: 'every value live' });
    expect(typedView(reader)).toEqual(expected);
    const joiner = await join(target.url(), room, 'joiner');
    await until(() => typedView(joiner).size === expected.size, { what: "the joiner's snapshot" });
    expect(typedView(joiner)).toEqual(expected);
    expect([writer.closed, reader.closed, joiner.closed]).toEqual([null, null, null]);
  });

  it("sends 2020 clients strings, and a 2020 client's number to Scratch 3 clients as a number, its other text as that text", async () => {
    const target = await start();
    const room = freshRoom();
    const declared = { [cloud('a')]: '1', [cloud('b')]: '1', [cloud('c')]: '1', [cloud('d')]: '1' };
    const old = await join(target.url(), room, 'oldtimer', declared, 'legacy');
    await membersAre(target.gw, room, 1);
    const today = await join(target.url(), room, 'player1');
    await membersAre(target.gw, room, 2);
    await until(() => typedView(today).size === 4, { what: "the 2020 client's values in the snapshot" });
    expect([...typedView(today).values()]).toEqual([1, 1, 1, 1]);

    today.send([JSON.stringify({ method: 'set', name: cloud('a'), value: 7 }), JSON.stringify({ method: 'set', name: cloud('b'), value: '8' })].join('\n'));
    await until(() => old.view.get(cloud('a')) === '7' && old.view.get(cloud('b')) === '8', { what: "the Scratch 3 client's sets" });
    expect(typedView(old).get(cloud('a'))).toBe('7');
    expect(typedView(old).get(cloud('b'))).toBe('8');

    // "5" is the number 5's writing: a number. "1e3", "-0" and "005" are number text no
    // number is written as: never rewritten, they reach everyone as the text sent.
    old.set(cloud('a'), '5');
    old.set(cloud('b'), '1e3');
    old.set(cloud('c'), '-0');
    old.set(cloud('d'), '005');
    await until(() => typedView(today).get(cloud('d')) === '005', { what: "the 2020 client's sets" });
    expect(Object.fromEntries(typedView(today))).toEqual({ [cloud('a')]: 5, [cloud('b')]: '1e3', [cloud('c')]: '-0', [cloud('d')]: '005' });
    const other = await join(target.url(), room, 'oldtimer2', declared, 'legacy');
    await until(() => other.frames.length > 0, { what: "the second 2020 client's snapshot" });
    expect(Object.fromEntries(other.view)).toEqual({ [cloud('a')]: '5', [cloud('b')]: '1e3', [cloud('c')]: '-0', [cloud('d')]: '005' });
  });

  it("sends number text too large for a double (a 2020 client's 1e400) as a string: JSON has no Infinity", async () => {
    const target = await start();
    const room = freshRoom();
    const old = await join(target.url(), room, 'oldtimer', { [cloud('a')]: '1e400' }, 'seed');
    await membersAre(target.gw, room, 1);
    const today = await join(target.url(), room, 'player1');
    await until(() => typedView(today).has(cloud('a')), { what: 'the snapshot' });
    expect(typedView(today).get(cloud('a'))).toBe('1e400');
    expect(old.closed).toBeNull();
  });

  it('keeps text values as strings, one starting with U+0001 too (ALLOW_TEXT_VALUES)', async () => {
    const target = await start({ ALLOW_TEXT_VALUES: 'true' });
    const room = freshRoom();
    const declared = { [cloud('a')]: '0', [cloud('b')]: '0' };
    const old = await join(target.url(), room, 'oldtimer', declared, 'seed');
    await membersAre(target.gw, room, 1);
    const today = await join(target.url(), room, 'player1');
    await membersAre(target.gw, room, 2);
    today.send(JSON.stringify({ method: 'set', name: cloud('a'), value: '\u00015' }));
    today.send(JSON.stringify({ method: 'set', name: cloud('b'), value: ' 5 ' }));
    await until(() => old.view.get(cloud('b')) === ' 5 ', { what: 'the text values' });
    expect(old.view.get(cloud('a'))).toBe('\u00015');
    old.set(cloud('b'), '\u0001x');
    await until(() => typedView(today).get(cloud('b')) === '\u0001x', { what: "the 2020 client's text" });
    const joiner = await join(target.url(), room, 'joiner');
    await until(() => typedView(joiner).size === 2, { what: 'the snapshot' });
    expect(typedView(joiner)).toEqual(
      new Map([
        [cloud('a'), '\u00015'],
        [cloud('b'), '\u0001x'],
      ]),
    );
  });

  it("shows and takes typed values in the API: GET a room, an operator's set of a number or a string", async () => {
    const target = await start(API_ENV);
    const room = freshRoom();
    const writer = await join(target.url(), room, 'writer');
    const reader = await join(target.url(), room, 'reader');
    await membersAre(target.gw, room, 2);
    writer.send([JSON.stringify({ method: 'set', name: cloud('n'), value: 5 }), JSON.stringify({ method: 'set', name: cloud('s'), value: '5' })].join('\n'));
    await until(() => typedView(reader).size === 2, { what: 'both sets' });
    const httpUrl = (target.other ?? target.gw).httpUrl;
    expect(((await call(httpUrl, 'GET', roomPath(room))).body as { variables: unknown }).variables).toEqual({ [cloud('n')]: 5, [cloud('s')]: '5' });

    const number = await admin(httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('n'), value: 6 });
    expect(number.body).toMatchObject({ name: cloud('n'), value: 6 });
    const string = await admin(httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('s'), value: '6' });
    expect(string.body).toMatchObject({ name: cloud('s'), value: '6' });
    await until(() => typedView(reader).get(cloud('s')) === '6', { what: "the operator's sets" });
    expect(typedView(reader).get(cloud('n'))).toBe(6);
    // The log keeps Scratch's shape: text, without the store's mark.
    const log = (await call(httpUrl, 'GET', `${roomPath(room)}/log`)).body as { value: string }[];
    expect(log.slice(0, 2).map((entry) => entry.value)).toEqual(['6', '6']);
  });
});
