/**
 * Frames that arrive while a join is in flight are kept and processed in order once the
 * client is in the room (README, "Sets sent right after the handshake are kept"); the first
 * bad frame decides the close code (PROTOCOL.md: "the first failure closes"). That order
 * must hold also when a later frame of the same burst is one the gateway closes on at once:
 * binary (4000), invalid UTF-8 (1007), oversized (1009).
 *
 * Found by the fuzz test and the soak (issue 12), fixed by reading each frame as it arrives
 * (ws/held-messages.ts): the first bad message closes at once with its own code, the good
 * ones before it are applied once the join is done even though the socket closed, and a
 * today's client that sets all of its variables (up to MAX_VARIABLES) before its join
 * completes keeps them all: it is never closed with 4004, the code today's clients stop on
 * for good (through Redis the join is slow enough for that burst to be held every time).
 */
import type { Socket } from 'node:net';
import { encodeClientSet, encodeHandshake, storedText, type DialectName } from '@cloudvars/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, until } from './support/client.ts';
import { closeOf, cloud } from './support/conformance.ts';
import { startTarget, TARGET_KINDS, type Target } from './support/targets.ts';

const MAX_PAYLOAD = 4096;

/**
 * Sends what `send` sends in one TCP write (the socket corked meanwhile), so the gateway
 * reads every frame of the burst at once, before its join can complete: the race is
 * decided the same way on every run.
 */
function inOneWrite(client: TestClient, send: () => void): void {
  const tcp = (client.socket as unknown as { _socket: Socket })._socket;
  tcp.cork();
  send();
  tcp.uncork();
}
const A = cloud('a');
const B = cloud('b');

/** The frame that closes at once, and the code it closes with. */
const CLOSERS: ReadonlyArray<readonly [string, number, (client: TestClient) => void]> = [
  ['a binary frame', 4000, (client) => client.socket.send(Buffer.from([1, 2, 3]), { binary: true })],
  ['a text frame of invalid UTF-8', 1007, (client) => client.socket.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false })],
  ['an oversized frame', 1009, (client) => client.socket.send('x'.repeat(MAX_PAYLOAD + 1))],
];

describe.each(TARGET_KINDS)('frames held during a join, then a frame that closes at once (%s)', (kind) => {
  let target: Target;
  let serial = 0;
  beforeAll(async () => {
    target = await startTarget(kind, { MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD), MAX_VARIABLES: '128' });
  });
  afterAll(async () => {
    await target.stop();
  });

  // As text, the store's string mark removed: every dialect's client sends its values as strings here.
  const stored = async (room: string): Promise<Record<string, string>> =>
    Object.fromEntries(((await target.gw.engine.store.snapshot(room))?.variables ?? []).map(([name, value]) => [name, storedText(value)]));

  describe.each<DialectName>(['scratch', 'seed', 'legacy'])('%s client', (dialect) => {
    it.each(CLOSERS)('keeps the sets sent before %s in the same burst, then closes with %i', async (_label, code, closer) => {
      const room = `held${kind}${dialect}${++serial}`;
      const client = await TestClient.connect(target.url(), { dialect });
      // One burst: the handshake, two sets, and the closing frame, before the join is done.
      inOneWrite(client, () => {
        client.send(encodeHandshake(dialect, room, 'holder', { [A]: '0', [B]: '0' }));
        client.send(encodeClientSet(dialect, A, '1'));
        client.send(encodeClientSet(dialect, B, '2'));
        closer(client);
      });
      expect((await closeOf(client)).code).toBe(code);
      await until(async () => (await stored(room))[B] === '2', { timeoutMs: 2_000, what: `the held sets stored in ${room}` }).catch(() => undefined);
      expect(await stored(room)).toEqual({ [A]: '1', [B]: '2' });
    });
  });

  it("keeps a today's client that sets 100 variables right after its handshake, in 100 frames: never 4004", async () => {
    const room = `held${kind}many${++serial}`;
    const client = await TestClient.connect(target.url(), { dialect: 'scratch' });
    const names = Array.from({ length: 100 }, (_, i) => cloud(`v${i}`));
    inOneWrite(client, () => {
      client.send(encodeHandshake('scratch', room, 'player1', {}));
      for (const name of names) client.send(encodeClientSet('scratch', name, '1'));
    });
    // Sets beyond the rate wait for it (30 a second after a burst of 30): about 3 s for all.
    await until(async () => Object.keys(await stored(room)).length === names.length || client.closed !== null, {
      timeoutMs: 15_000,
      what: `${names.length} variables stored in ${room}`,
    }).catch(() => undefined);
    expect(client.closed).toBeNull();
    expect(Object.keys(await stored(room))).toHaveLength(names.length);
    client.close();
  }, 20_000);

  it("ends each variable on its last value when a today's client sends 1,000 sets of 3 variables with its handshake, far beyond what a join holds", async () => {
    const room = `held${kind}burst${++serial}`;
    const client = await TestClient.connect(target.url(), { dialect: 'scratch' });
    const names = [cloud('x'), cloud('y'), cloud('z')] as const;
    inOneWrite(client, () => {
      client.send(encodeHandshake('scratch', room, 'player1', {}));
      for (let n = 1; n <= 1000; n++) client.send(encodeClientSet('scratch', names[n % 3] ?? A, String(n)));
    });
    // Set n goes to names[n % 3]: 999 is x's last value, 1000 y's, 998 z's.
    const last = { [names[0]]: '999', [names[1]]: '1000', [names[2]]: '998' };
    const onLast = (values: Record<string, string>): boolean => names.every((name) => values[name] === last[name]);
    await until(async () => onLast(await stored(room)) || client.closed !== null, {
      timeoutMs: 10_000,
      what: `the last values stored in ${room}`,
    }).catch(() => undefined);
    expect(client.closed).toBeNull();
    expect(await stored(room)).toEqual(last);
    client.close();
  });

  it('closes with the code of the first bad frame, held during the join, not of a later one that closes at once', async () => {
    const room = `held${kind}first${++serial}`;
    const client = await TestClient.connect(target.url(), { dialect: 'seed' });
    inOneWrite(client, () => {
      client.send(encodeHandshake('seed', room, 'holder', { [A]: '0' }));
      client.send(encodeClientSet('seed', A, '1'));
      client.send(encodeClientSet('seed', B, '1')); // B was not declared: 4000
      client.socket.send(Buffer.from([0xff]), { binary: false }); // invalid UTF-8: 1007
    });
    expect((await closeOf(client)).code).toBe(4000);
    await until(async () => (await stored(room))[A] === '1', { timeoutMs: 2_000, what: `the held set stored in ${room}` }).catch(() => undefined);
    expect(await stored(room)).toEqual({ [A]: '1' });
  });
});
