/**
 * PROTOCOL.md's handshake table, row by row, over a real WebSocket: each refusal's exact
 * close code, and each join's exact frames. Rows about the room field run in both dialects
 * (`room` for seed clients, `id` for 2020 clients).
 */
import { MAX_VALUE_LENGTH, MAX_VARIABLE_NAME_LENGTH, type DialectName } from '@cloudvars/protocol';
import { SETTINGS } from '../src/config.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinedTogether, TestClient, until, upgradeStatus } from './support/client.ts';
import { closeOf, cloud, handshakeOf, messagesOf, refusal, serverSet, setOf } from './support/conformance.ts';
import { membersAre, type RunningGateway } from './support/gateway.ts';
import { startTarget, TARGET_KINDS, type Target } from './support/targets.ts';

const DIALECTS: readonly DialectName[] = ['seed', 'legacy'];
const ONE = { [cloud('a')]: '1' };
let roomCounter = 0;
/** A room no other test uses (tests share a gateway). */
const freshRoom = (): string => `hs${++roomCounter}`;

/** n distinct valid variables. */
/** The gateway's default, which the handshake's variable count is held to. */
const MAX_VARIABLES = SETTINGS.MAX_VARIABLES.default;

function variables(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [cloud(`v${i}`), String(i)]));
}

describe.each(TARGET_KINDS)('handshake on a default gateway (%s)', (kind) => {
  let target: Target;
  /** The first pod: the cluster's store, for membership checks. */
  let gw: RunningGateway;
  const url = (): string => target.url();
  beforeAll(async () => {
    target = await startTarget(kind);
    gw = target.gw;
  });
  afterAll(async () => {
    await target.stop();
  });

  /** Expects the lone handshake `frame` to be refused with `code`, nothing sent back. */
  async function expectRefused(frame: Record<string, unknown> | string, code: number, dialect: DialectName = 'seed'): Promise<void> {
    expect(await refusal(url(), [frame], dialect)).toEqual({ code, frames: [] });
  }

  /** Expects a handshake to be admitted: the store counts it and the socket stays open. */
  async function expectAdmitted(room: string, frame: Record<string, unknown>, dialect: DialectName = 'seed'): Promise<TestClient> {
    const client = await TestClient.connect(url(), { dialect });
    client.sendJson(frame);
    await membersAre(gw, room, 1);
    expect(client.closed).toBeNull();
    return client;
  }

  describe.each(DIALECTS)('first message (%s)', (dialect) => {
    it('closes with 4000 when the first message is a set', async () => {
      await expectRefused(setOf(dialect, cloud('a'), '1'), 4000, dialect);
    });

    it('closes with 4000 on a second handshake after joining', async () => {
      const room = freshRoom();
      const client = await expectAdmitted(room, handshakeOf(dialect, room, 'first', ONE), dialect);
      client.sendJson(handshakeOf(dialect, room, 'first', ONE));
      expect((await closeOf(client)).code).toBe(4000);
    });

    it('closes with 4000 on a second handshake sent while the first is joining, even one with a bad username', async () => {
      const room = freshRoom();
      const result = await refusal(url(), [handshakeOf(dialect, room, 'first', ONE), handshakeOf(dialect, room, 'x', ONE)], dialect);
      expect(result.code).toBe(4000);
    });
  });

  describe.each(DIALECTS)('room (%s)', (dialect) => {
    const field = dialect === 'seed' ? 'room' : 'id';
    it(`closes with 4000 when "${field}" is missing`, async () => {
      await expectRefused({ kind: 'handshake', username: 'someone', variables: ONE }, 4000, dialect);
    });
    it.each([
      ['empty', ''],
      ['129 characters long', 'r'.repeat(129)],
      ['a space', 'a b'],
      ['a slash', 'a/b'],
      ['a non-ASCII letter', 'r\u00f6om'],
      ['a newline', 'room\n'],
    ])(`closes with 4000 when "${field}" is %s`, async (_what, room) => {
      await expectRefused(handshakeOf(dialect, room, 'someone', ONE), 4000, dialect);
    });
    // A 2020 client's numeric project id is a room (dialects.test.ts); other non-strings are not.
    it.each(dialect === 'seed' ? [[123], [true], [null], [['r']], [{}]] : [[true], [null], [-1], [1.5], [['r']], [{}]])(
      `closes with 4000 when "${field}" is not a string: %j`,
      async (room) => {
        await expectRefused(handshakeOf(dialect, room, 'someone', ONE), 4000, dialect);
      },
    );
    it(`admits a "${field}" of 128 characters from [A-Za-z0-9_.-]`, async () => {
      const room = `Az09_.-${++roomCounter}`.padEnd(128, 'x');
      await expectAdmitted(room, handshakeOf(dialect, room, 'someone', ONE), dialect);
    });
  });

  describe('variables', () => {
    it.each([
      ['missing', undefined],
      ['an array', [[cloud('a'), '1']]],
      ['null', null],
      ['empty', {}],
      ['a string', cloud('a')],
      [`${MAX_VARIABLES + 1} entries (MAX_VARIABLES + 1)`, variables(MAX_VARIABLES + 1)],
    ])('closes with 4000 when variables is %s', async (_what, vars) => {
      await expectRefused(handshakeOf('seed', freshRoom(), 'someone', vars), 4000);
    });

    it(`admits ${MAX_VARIABLES} variables (MAX_VARIABLES)`, async () => {
      const room = freshRoom();
      await expectAdmitted(room, handshakeOf('seed', room, 'someone', variables(MAX_VARIABLES)));
    });

    it('admits a room at every limit at once and sends a joiner all of it in one frame', async () => {
      const room = 'r'.repeat(128 - String(++roomCounter).length) + String(roomCounter);
      // 8 names of the longest length, each holding a 100,000-digit value: under the 1 MiB
      // room budget and the 1 MiB frame (the longest value the room budget holds 10 of).
      const nameLength = MAX_VARIABLE_NAME_LENGTH - 2;
      const big = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [cloud(String(i).repeat(nameLength)), String(i + 1).repeat(MAX_VALUE_LENGTH)]));
      await TestClient.join(url(), room, 'u'.repeat(20), big);
      await membersAre(gw, room, 1);
      const joiner = await TestClient.join(url(), room, 'joiner', big);
      const frames = await joiner.waitFrames(1);
      expect(frames).toHaveLength(1);
      expect(messagesOf(frames[0])).toEqual(
        Object.entries(big)
          .map(([name, value]) => serverSet('seed', name, value))
          .sort(),
      );
    });

    it.each([
      ['has no prefix', 'score'],
      ['has the cloud but no space', '\u2601score'],
      ['is exactly the prefix', '\u2601 '],
      [`is ${MAX_VARIABLE_NAME_LENGTH + 1} characters long`, cloud('n'.repeat(MAX_VARIABLE_NAME_LENGTH - 1))],
    ])('closes with 4000 when a variable name %s', async (_what, name) => {
      await expectRefused(handshakeOf('seed', freshRoom(), 'someone', { [cloud('ok')]: '1', [name]: '1' }), 4000);
    });

    it(`admits a variable name of ${MAX_VARIABLE_NAME_LENGTH} characters`, async () => {
      const room = freshRoom();
      await expectAdmitted(room, handshakeOf('seed', room, 'someone', { [cloud('n'.repeat(MAX_VARIABLE_NAME_LENGTH - 2))]: '1' }));
    });
  });

  describe('prototype keys', () => {
    it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('closes with 4000 for the unprefixed variable name %s', async (name) => {
      // Written by hand: JSON.parse makes "__proto__" an own key, as a hostile client would send it.
      await expectRefused(`{"kind":"handshake","room":"${freshRoom()}","username":"someone","variables":{"${name}":"1"}}`, 4000);
    });

    it('does not take the room from an inherited "__proto__" object (4000: room missing)', async () => {
      await expectRefused(`{"kind":"handshake","__proto__":{"room":"${freshRoom()}"},"username":"someone","variables":{"\u2601 a":"1"}}`, 4000);
    });

    it('keeps "☁ __proto__" and "☁ constructor" as plain variables that a second client receives', async () => {
      const room = freshRoom();
      const vars: [string, string][] = [
        [cloud('__proto__'), '1'],
        [cloud('constructor'), '2'],
      ];
      await TestClient.join(url(), room, 'creator', vars);
      await membersAre(gw, room, 1);
      const second = await TestClient.join(url(), room, 'second', vars);
      expect(await second.waitFrames(1)).toEqual([[serverSet('seed', cloud('__proto__'), '1'), serverSet('seed', cloud('constructor'), '2')].join('\n')]);
    });

    it('treats rooms and usernames named "__proto__" and "constructor" as data', async () => {
      for (const room of ['__proto__', 'constructor']) {
        await TestClient.join(url(), room, '__proto__', ONE);
        await membersAre(gw, room, 1);
        const other = await TestClient.join(url(), room, 'constructor', ONE);
        expect(await other.waitFrames(1)).toEqual([serverSet('seed', cloud('a'), '1')]);
        expect((await refusal(url(), [handshakeOf('seed', room, '__PROTO__', ONE)])).code).toBe(4002);
      }
    });
  });

  describe('unusual variable names', () => {
    // Names as escaped in the JSON text a client sends; JSON.parse turns them into the name.
    it.each([
      ['a NUL', '\\u0000'],
      ['a newline', 'a\\nb'],
      ['a quote and a backslash', '\\"\\\\'],
      ['braces (a Redis Cluster hash tag)', '{x}'],
      ['format directives', '%s%d'],
      ['an emoji', '\u{1F600}'],
      ['U+2028', '\\u2028'],
    ])('keeps a name holding %s exactly: in the snapshot and in sets', async (_what, escaped) => {
      const room = freshRoom();
      const text = `{"kind":"handshake","room":"${room}","username":"creator","variables":{"\u2601 ${escaped}":"1","\u2601 b":"2"}}`;
      const [name] = Object.keys((JSON.parse(text) as { variables: Record<string, string> }).variables) as [string];
      const creator = await TestClient.connect(url());
      creator.send(text);
      await membersAre(gw, room, 1);
      const joiner = await TestClient.connect(url());
      joiner.send(text.replace('"creator"', '"joiner"'));
      const frames = await joiner.waitFrames(1);
      expect(frames).toHaveLength(1);
      expect(messagesOf(frames[0])).toEqual([serverSet('seed', name, '1'), serverSet('seed', cloud('b'), '2')].sort());
      await joinedTogether(creator, joiner, name, '7');
    });

    // Valid JSON, but Redis would store U+FFFD instead: the name would not survive.
    it('refuses with 4000 a name holding a lone surrogate (escaped in JSON)', async () => {
      const room = freshRoom();
      const text = `{"kind":"handshake","room":"${room}","username":"creator","variables":{"\u2601 \\ud800x":"1"}}`;
      const creator = await TestClient.connect(url());
      creator.send(text);
      expect((await creator.waitClose()).code).toBe(4000);
    });
  });

  describe.each(DIALECTS)('initial values (%s)', (dialect) => {
    it('stores an invalid initial value as "0" and sends the creator exactly the corrections', async () => {
      const room = freshRoom();
      const creator = await TestClient.connect(url(), { dialect });
      creator.sendJson(
        handshakeOf(dialect, room, 'creator', { [cloud('a')]: '1', [cloud('b')]: 'abc', [cloud('c')]: 5, [cloud('d')]: null, [cloud('e')]: '' }),
      );
      await membersAre(gw, room, 1);
      const joiner = await TestClient.join(
        url(),
        room,
        'joiner',
        { [cloud('a')]: '9', [cloud('b')]: '9', [cloud('c')]: '9', [cloud('d')]: '9', [cloud('e')]: '9' },
        dialect,
      );
      const [snapshot] = await joiner.waitFrames(1);
      expect(snapshot).toBe(['1', '0', '0', '0', '0'].map((value, i) => serverSet(dialect, cloud('abcde'.charAt(i)), value)).join('\n'));
      // A later set from the joiner is the only other thing the creator receives.
      await joinedTogether(joiner, creator, cloud('a'), '2');
      expect(creator.frames).toEqual([
        ['b', 'c', 'd', 'e'].map((name) => serverSet(dialect, cloud(name), '0')).join('\n'),
        serverSet(dialect, cloud('a'), '2'),
      ]);
    });
  });

  describe('username', () => {
    it.each([
      ['2 characters long', 'ab'],
      ['21 characters long', 'u'.repeat(21)],
      ['holding a space', 'a b'],
      ['holding punctuation', 'ab!'],
      ['holding a non-ASCII letter', '\u00e9mile'],
      ['holding a NUL', 'abc\u0000'],
    ])('closes with 4002 for a username %s', async (_what, username) => {
      await expectRefused(handshakeOf('seed', freshRoom(), username, ONE), 4002);
    });

    it.each(['abc', 'u'.repeat(20), 'A-b_9'])('admits the username %s', async (username) => {
      const room = freshRoom();
      await expectAdmitted(room, handshakeOf('seed', room, username, ONE));
    });

    it.each(DIALECTS)('closes with 4002 when the username is taken in the room, in another case (%s)', async (dialect) => {
      const room = freshRoom();
      await TestClient.join(url(), room, 'Alice', ONE);
      await membersAre(gw, room, 1);
      expect(await refusal(url(), [handshakeOf(dialect, room, 'aLICE', ONE)], dialect)).toEqual({ code: 4002, frames: [] });
      // The same name is free in another room.
      const other = freshRoom();
      await expectAdmitted(other, handshakeOf(dialect, other, 'alice', ONE), dialect);
    });

    it('frees a username when its client leaves', async () => {
      const room = freshRoom();
      const sam = await TestClient.join(url(), room, 'sam', ONE);
      await membersAre(gw, room, 1);
      await TestClient.join(url(), room, 'bob', ONE);
      await membersAre(gw, room, 2);
      sam.close();
      await membersAre(gw, room, 1);
      const again = await TestClient.join(url(), room, 'SAM', ONE);
      expect(await again.waitFrames(1)).toEqual([serverSet('seed', cloud('a'), '1')]);
      expect(again.closed).toBeNull();
    });
  });

  describe('joining a room', () => {
    it.each(DIALECTS)('sends a joiner every current value in ONE frame (%s)', async (dialect) => {
      const room = freshRoom();
      const creator = await TestClient.join(url(), room, 'creator', variables(10));
      await membersAre(gw, room, 1);
      const first = await TestClient.join(url(), room, 'first', variables(10), dialect);
      await first.waitFrames(1);
      await joinedTogether(creator, first, cloud('v3'), '33');
      const joiner = await TestClient.join(url(), room, 'joiner', Object.entries(variables(10)).reverse(), dialect);
      await joiner.waitFrames(1);
      await membersAre(gw, room, 3);
      const expected = Object.entries(variables(10)).map(([name, value]) => serverSet(dialect, name, name === cloud('v3') ? '33' : value));
      expect(joiner.frames).toEqual([expected.join('\n')]);
    });

    it.each([
      ['a different name', { [cloud('a')]: '1', [cloud('c')]: '1' }],
      ['a name fewer', { [cloud('a')]: '1' }],
      ['a name more', { [cloud('a')]: '1', [cloud('b')]: '1', [cloud('c')]: '1' }],
    ])('closes with 4001 when the names differ (%s) and someone is connected', async (_what, vars) => {
      const room = freshRoom();
      await TestClient.join(url(), room, 'creator', { [cloud('a')]: '1', [cloud('b')]: '1' });
      await membersAre(gw, room, 1);
      expect(await refusal(url(), [handshakeOf('seed', room, 'other', vars)])).toEqual({ code: 4001, frames: [] });
    });

    it('sends the stored values to a client joining an empty room it did not create, names matching', async () => {
      const room = freshRoom();
      const first = await TestClient.join(url(), room, 'first', { [cloud('a')]: '1', [cloud('b')]: '2' });
      await membersAre(gw, room, 1);
      const second = await TestClient.join(url(), room, 'second', { [cloud('a')]: '0', [cloud('b')]: '0' });
      await second.waitFrames(1);
      await joinedTogether(first, second, cloud('b'), '3');
      first.close();
      second.close();
      await membersAre(gw, room, 0);
      const returning = await TestClient.join(url(), room, 'returning', { [cloud('b')]: '9', [cloud('a')]: '9' });
      expect(await returning.waitFrames(1)).toEqual([[serverSet('seed', cloud('a'), '1'), serverSet('seed', cloud('b'), '3')].join('\n')]);
    });

    it('migrates the room when the names differ and nobody is connected', async () => {
      const room = freshRoom();
      const old = await TestClient.join(url(), room, 'old', { [cloud('kept')]: '1', [cloud('dropped')]: '2' });
      await membersAre(gw, room, 1);
      const witness = await TestClient.join(url(), room, 'witness', { [cloud('kept')]: '0', [cloud('dropped')]: '0' });
      await witness.waitFrames(1);
      await joinedTogether(old, witness, cloud('kept'), '5');
      old.close();
      witness.close();
      await membersAre(gw, room, 0);

      const migrant = await TestClient.join(url(), room, 'migrant', { [cloud('kept')]: '7', [cloud('new')]: '8' });
      expect(await migrant.waitFrames(1)).toEqual([[serverSet('seed', cloud('kept'), '5'), serverSet('seed', cloud('new'), '8')].join('\n')]);
      const later = await TestClient.join(url(), room, 'later', { [cloud('new')]: '0', [cloud('kept')]: '0' });
      expect(await later.waitFrames(1)).toEqual([[serverSet('seed', cloud('kept'), '5'), serverSet('seed', cloud('new'), '8')].join('\n')]);
      // The old names are gone now that the migrant is connected.
      expect((await refusal(url(), [handshakeOf('seed', room, 'oldnames', { [cloud('kept')]: '0', [cloud('dropped')]: '0' })])).code).toBe(4001);
    });
  });
});

describe.each(TARGET_KINDS)('simultaneous handshakes (%s)', (kind) => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget(kind, { MAX_CLIENTS_PER_ROOM: '2' });
  });
  afterAll(async () => {
    await target.stop();
  });

  /** Sends every handshake in one burst (pods in turn) and returns each connection's outcome. */
  async function race(frames: ReadonlyArray<Record<string, unknown>>): Promise<{ joined: TestClient[]; codes: number[] }> {
    const clients = await Promise.all(frames.map(() => TestClient.connect(target.url())));
    clients.forEach((client, i) => client.sendJson(frames[i] ?? {}));
    const room = String(frames[0]?.['room']);
    // Settled: every refused client is closed, and the store counts the others.
    await until(async () => (await target.gw.engine.store.memberCount(room)) === clients.filter((c) => c.closed === null).length, {
      what: 'the race to settle',
    });
    await until(async () => (await target.gw.engine.store.memberCount(room)) + clients.filter((c) => c.closed !== null).length === clients.length, {
      what: 'every outcome',
    });
    return { joined: clients.filter((c) => c.closed === null), codes: clients.flatMap((c) => (c.closed === null ? [] : [c.closed.code])) };
  }

  it('admits exactly MAX_CLIENTS_PER_ROOM=2 of 6 clients joining at once; the others get 4003', async () => {
    const { joined, codes } = await race(Array.from({ length: 6 }, (_, i) => handshakeOf('seed', 'race-full', `racer${i}`, ONE)));
    expect(joined).toHaveLength(2);
    expect(codes).toEqual([4003, 4003, 4003, 4003]);
  });

  it('admits exactly one of 4 clients taking one username (in different cases) at once; the others get 4002', async () => {
    const { joined, codes } = await race(['same', 'SAME', 'Same', 'sAmE'].map((name) => handshakeOf('seed', 'race-name', name, ONE)));
    expect(joined).toHaveLength(1);
    expect(codes).toEqual([4002, 4002, 4002]);
  });

  it('lets one of two clients creating a room at once with different names win; the other gets 4001', async () => {
    const { joined, codes } = await race([
      handshakeOf('seed', 'race-names', 'left', { [cloud('left')]: '1' }),
      handshakeOf('seed', 'race-names', 'right', { [cloud('right')]: '1' }),
    ]);
    expect(joined).toHaveLength(1);
    expect(codes).toEqual([4001]);
  });
});

describe.each(TARGET_KINDS)('handshake limits (%s)', (kind) => {
  const targets: Target[] = [];
  /** `url()` takes the pods in turn; `podUrl` is always the first pod (per-pod limits), `otherPodUrl` another. */
  async function gateway(
    env: Record<string, string>,
  ): Promise<{ url: () => string; podUrl: string; otherPodUrl: string | null } & Pick<RunningGateway, 'engine' | 'metrics'>> {
    const started = await startTarget(kind, env);
    targets.push(started);
    const otherPodUrl = started.other?.url ?? null;
    return { url: () => started.url(), podUrl: started.gw.url, otherPodUrl, engine: started.gw.engine, metrics: started.gw.metrics };
  }
  afterAll(async () => {
    await Promise.all(targets.map((started) => started.stop()));
  });

  it('closes with 4002 for a username holding a blocked word, in any case', async () => {
    const gw = await gateway({ USERNAME_BLOCKLIST: 'evil, Spam' });
    for (const username of ['evil1', 'xxSPAMxx', 'EvIl']) {
      expect((await refusal(gw.url(), [handshakeOf('seed', 'blocked', username, ONE)])).code).toBe(4002);
    }
    await TestClient.join(gw.url(), 'blocked', 'nice1', ONE);
    await membersAre(gw, 'blocked', 1);
  });

  it('closes with 4000 beyond MAX_VARIABLES=3 variables, and admits 3', async () => {
    const gw = await gateway({ MAX_VARIABLES: '3' });
    const four = { [cloud('a')]: '1', [cloud('b')]: '1', [cloud('c')]: '1', [cloud('d')]: '1' };
    expect((await refusal(gw.url(), [handshakeOf('seed', 'vars', 'four', four)])).code).toBe(4000);
    await TestClient.join(gw.url(), 'vars', 'three', { [cloud('a')]: '1', [cloud('b')]: '1', [cloud('c')]: '1' });
    await membersAre(gw, 'vars', 1);
  });

  it('closes with 4003 when the room is full (MAX_CLIENTS_PER_ROOM=2), and admits again once a slot frees', async () => {
    const gw = await gateway({ MAX_CLIENTS_PER_ROOM: '2' });
    const first = await TestClient.join(gw.url(), 'full', 'first', ONE);
    await membersAre(gw, 'full', 1);
    await TestClient.join(gw.url(), 'full', 'second', ONE);
    await membersAre(gw, 'full', 2);
    expect(await refusal(gw.url(), [handshakeOf('seed', 'full', 'third', ONE)])).toEqual({ code: 4003, frames: [] });
    // Table order: a taken username (4002) is checked before room size; room size before names (4001).
    expect((await refusal(gw.url(), [handshakeOf('seed', 'full', 'FIRST', ONE)])).code).toBe(4002);
    expect((await refusal(gw.url(), [handshakeOf('seed', 'full', 'third', { [cloud('z')]: '1' })])).code).toBe(4003);
    first.close();
    await membersAre(gw, 'full', 1);
    const third = await TestClient.join(gw.url(), 'full', 'third', ONE);
    expect(await third.waitFrames(1)).toEqual([serverSet('seed', cloud('a'), '1')]);
  });

  it('closes with 4003 for a second room when MAX_ROOMS=1, while the first room still admits', async () => {
    const gw = await gateway({ MAX_ROOMS: '1' });
    const first = await TestClient.join(gw.url(), 'one', 'first', ONE);
    await membersAre(gw, 'one', 1);
    expect(await refusal(gw.url(), [handshakeOf('seed', 'two', 'other', ONE)])).toEqual({ code: 4003, frames: [] });
    const second = await TestClient.join(gw.url(), 'one', 'second', ONE);
    await membersAre(gw, 'one', 2);
    first.close();
    second.close();
    await membersAre(gw, 'one', 0);
    await TestClient.join(gw.url(), 'two', 'other', ONE);
    await membersAre(gw, 'two', 1);
  });

  // README "departs from PROTOCOL.md": a full pod refuses the upgrade itself (HTTP 503, which
  // a load balancer retries on another pod) instead of opening a socket to close it with 4003.
  it('refuses a second upgrade with HTTP 503 when MAX_CONNECTIONS=1, and admits one once the first is gone', async () => {
    const gw = await gateway({ MAX_CONNECTIONS: '1' });
    const first = await TestClient.join(gw.podUrl, 'pod', 'first', ONE);
    await membersAre(gw, 'pod', 1);
    expect(await upgradeStatus(gw.podUrl)).toEqual({ status: 503, retryAfter: '1' });
    first.close();
    await membersAre(gw, 'pod', 0);
    const connectionsGauge = async (): Promise<number> => (await gw.metrics.connections.get()).values[0]?.value ?? -1;
    await until(async () => (await connectionsGauge()) === 0, { what: 'the pod to count no connection' });
    await TestClient.join(gw.podUrl, 'pod', 'second', ONE);
    await membersAre(gw, 'pod', 1);
  });

  it('refuses the upgrade with HTTP 429 when the address already has MAX_CONNECTIONS_PER_ADDRESS=1 socket on the pod', async () => {
    const gw = await gateway({ MAX_CONNECTIONS_PER_ADDRESS: '1' });
    await TestClient.join(gw.podUrl, 'addr', 'first', ONE);
    await membersAre(gw, 'addr', 1);
    expect(await upgradeStatus(gw.podUrl)).toEqual({ status: 429, retryAfter: '1' });
  });

  it('closes with 4003 a client joining on another pod when the address holds MAX_CONNECTIONS_PER_ADDRESS=1 across the cluster', async () => {
    const gw = await gateway({ MAX_CONNECTIONS_PER_ADDRESS: '1' });
    if (gw.otherPodUrl === null) return; // one pod: the upgrade refusal above is the whole limit
    await TestClient.join(gw.podUrl, 'addr', 'first', ONE);
    await membersAre(gw, 'addr', 1);
    expect(await refusal(gw.otherPodUrl, [handshakeOf('seed', 'addr2', 'second', ONE)])).toEqual({ code: 4003, frames: [] });
  });
});
