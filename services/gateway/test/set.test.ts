/**
 * PROTOCOL.md's set table over a real WebSocket. "Ignored silently" is proven twice: the
 * next valid set is the only thing the other client receives, and a newcomer's snapshot
 * holds only valid values.
 */
import { MAX_VALUE_LENGTH, type DialectName } from '@cloudvars/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinedTogether, TestClient, until } from './support/client.ts';
import { closeOf, cloud, serverSet, setOf } from './support/conformance.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';
import { startTarget, TARGET_KINDS, type Target } from './support/targets.ts';

const DIALECTS: readonly DialectName[] = ['seed', 'legacy'];
const VARS = { [cloud('a')]: '0', [cloud('b')]: '0' };
let roomCounter = 0;

/** A writer and a reader joined in a fresh room (on different pods when there are two). */
async function pair(target: Target, dialect: DialectName = 'seed'): Promise<{ room: string; writer: TestClient; reader: TestClient }> {
  const room = `set${++roomCounter}`;
  const writer = await TestClient.join(target.url(), room, 'writer', VARS, dialect);
  await membersAre(target.gw, room, 1);
  const reader = await TestClient.join(target.url(), room, 'reader', VARS, dialect);
  await reader.waitFrames(1);
  reader.frames.length = 0; // the snapshot; tests look at what comes after it
  return { room, writer, reader };
}

describe.each(TARGET_KINDS)('set on a default gateway (%s)', (kind) => {
  let gw: Target;
  beforeAll(async () => {
    gw = await startTarget(kind);
  });
  afterAll(async () => {
    await gw.stop();
  });

  describe.each(DIALECTS)('refusals (%s)', (dialect) => {
    it.each([cloud('c'), 'a', '__proto__', 'constructor'])('closes with 4000 for a set of the unknown variable %j', async (name) => {
      const { writer } = await pair(gw, dialect);
      writer.sendJson(setOf(dialect, name, '1'));
      expect((await closeOf(writer)).code).toBe(4000);
    });

    it('closes with 4000 when the value is missing', async () => {
      const { writer } = await pair(gw, dialect);
      writer.sendJson({ kind: 'set', [dialect === 'seed' ? 'variable' : 'var']: cloud('a') });
      expect((await closeOf(writer)).code).toBe(4000);
    });

    it('closes with 4000 when the variable is missing', async () => {
      const { writer } = await pair(gw, dialect);
      writer.sendJson({ kind: 'set', value: '1' });
      expect((await closeOf(writer)).code).toBe(4000);
    });

    it('closes with 4000 when the variable is not a string', async () => {
      const { writer } = await pair(gw, dialect);
      writer.sendJson(setOf(dialect, 7, '1'));
      expect((await closeOf(writer)).code).toBe(4000);
    });

    it("closes with 4000 when the variable is sent under the other dialect's field name", async () => {
      const { writer } = await pair(gw, dialect);
      writer.sendJson(setOf(dialect === 'seed' ? 'legacy' : 'seed', cloud('a'), '1'));
      expect((await closeOf(writer)).code).toBe(4000);
    });
  });

  describe.each(DIALECTS)('values (%s)', (dialect) => {
    it.each([
      ['empty', ''],
      ['a lone dot', '.'],
      ['a lone minus', '-'],
      ['letters', 'abc'],
      ['an exponent without digits', '1e'],
      ['a leading space', ' 1'],
      ['hexadecimal', '0x10'],
      [`${MAX_VALUE_LENGTH + 1} characters long`, '1'.repeat(MAX_VALUE_LENGTH + 1)],
      ['a JSON number', 5],
      ['null', null],
      ['an object', { v: '1' }],
      ['an array', ['1']],
      ['a boolean', true],
    ])('ignores a value that is %s: never stored, never broadcast, the connection stays', async (_what, value) => {
      const { room, writer, reader } = await pair(gw, dialect);
      writer.sendJson(setOf(dialect, cloud('a'), value));
      writer.set(cloud('b'), '1');
      await until(() => reader.frames.length >= 1 || reader.closed !== null);
      expect(reader.frames).toEqual([serverSet(dialect, cloud('b'), '1')]);
      expect(writer.closed).toBeNull();
      const newcomer = await TestClient.join(gw.url(), room, 'newcomer', VARS, dialect);
      expect(await newcomer.waitFrames(1)).toEqual([[serverSet(dialect, cloud('a'), '0'), serverSet(dialect, cloud('b'), '1')].join('\n')]);
    });

    const longest = '9'.repeat(MAX_VALUE_LENGTH);
    const valid = ['-1.5', '1e+21', '.5', '1.', '-0', '1e-7', '007', longest].map((value) => [
      value === longest ? `of ${MAX_VALUE_LENGTH} nines` : value,
      value,
    ]);
    it.each(valid)('broadcasts the valid value %s exactly as sent', async (_label, value) => {
      const { room, writer, reader } = await pair(gw, dialect);
      writer.set(cloud('a'), value);
      await until(() => reader.frames.length >= 1 || reader.closed !== null);
      expect(reader.frames).toEqual([serverSet(dialect, cloud('a'), value)]);
      const newcomer = await TestClient.join(gw.url(), room, 'newcomer', VARS, dialect);
      expect(await newcomer.waitFrames(1)).toEqual([[serverSet(dialect, cloud('a'), value), serverSet(dialect, cloud('b'), '0')].join('\n')]);
    });
  });

  it('sends the sender no echo of its own set', async () => {
    const { writer, reader } = await pair(gw);
    writer.set(cloud('a'), '1');
    await until(() => reader.view.get(cloud('a')) === '1');
    // The reader's answer is the first and only thing the writer receives.
    await joinedTogether(reader, writer, cloud('b'), '2');
    expect(writer.frames).toEqual([serverSet('seed', cloud('b'), '2')]);
  });

  it('sends no echo of a write when only other variables were sent to the writer (no crossing of that variable)', async () => {
    const { writer, reader } = await pair(gw);
    await joinedTogether(reader, writer, cloud('b'), '1');
    writer.set(cloud('a'), '5');
    await until(() => reader.view.get(cloud('a')) === '5', { what: 'the write to arrive' });
    await joinedTogether(reader, writer, cloud('b'), '2');
    expect(writer.frames.flatMap((frame) => frame.split('\n'))).toEqual([serverSet('seed', cloud('b'), '1'), serverSet('seed', cloud('b'), '2')]);
  });

  it('ignores additional properties on a set', async () => {
    const { writer, reader } = await pair(gw);
    writer.sendJson({ ...setOf('seed', cloud('a'), '3'), extra: { kind: 'handshake' }, user: 'x', ['__proto__']: { value: '9' } });
    await until(() => reader.frames.length >= 1 || reader.closed !== null);
    expect(reader.frames).toEqual([serverSet('seed', cloud('a'), '3')]);
  });
});

describe('rate limit', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    // Burst stays the default 30; a refill of 1/s keeps the count exact however slow the machine.
    gw = await startGateway({ RATE_LIMIT_PER_SECOND: '1' });
  });
  afterAll(async () => {
    await gw.stop();
  });

  /** A reader first, then a writer that sends its handshake and `sets` sets in one burst. */
  async function burst(sets: number): Promise<{ room: string; writer: TestClient; reader: TestClient }> {
    const room = `rate${++roomCounter}`;
    const reader = await TestClient.join(gw.url, room, 'reader', VARS);
    await membersAre(gw, room, 1);
    const writer = await TestClient.join(gw.url, room, 'writer', VARS);
    for (let i = 1; i <= sets; i++) writer.set(cloud('a'), String(i));
    return { room, writer, reader };
  }

  it('accepts a burst of 30 messages: the handshake and 29 sets', async () => {
    const { writer, reader } = await burst(29);
    await until(() => reader.view.get(cloud('a')) === '29' || writer.closed !== null, { what: 'the 29th set' });
    expect(reader.view.get(cloud('a'))).toBe('29');
    expect(writer.closed).toBeNull();
  });

  it('closes with 4004 on the 31st message of a burst (the handshake takes a token too), keeping the 30th set out of the room', async () => {
    const { room, writer, reader } = await burst(30);
    expect((await closeOf(writer)).code).toBe(4004);
    await until(() => reader.view.get(cloud('a')) === '29', { what: 'the 29th set' });
    const newcomer = await TestClient.join(gw.url, room, 'newcomer', VARS);
    expect(await newcomer.waitFrames(1)).toEqual([[serverSet('seed', cloud('a'), '29'), serverSet('seed', cloud('b'), '0')].join('\n')]);
    expect(reader.frames.join('\n')).not.toContain('"value":"30"');
  });
});
