import { describe, expect, it } from 'vitest';
import {
  dialects,
  encodeClientSet,
  encodeHandshake,
  encodeSet,
  joinFrame,
  parseHandshakeFrame,
  parseServerFrame,
  receivedValue,
  ServerFrameError,
  type DialectName,
} from '../src/index.ts';
import { parseSingle } from './support.ts';

describe('encodeSet (server side)', () => {
  it('produces exactly the seed wire shape', () => {
    expect(encodeSet(dialects.seed, '☁ a', '1')).toBe('{"kind":"set","variable":"☁ a","value":"1"}');
  });

  it('produces exactly the legacy wire shape (`var`)', () => {
    expect(encodeSet(dialects.legacy, '☁ a', '1')).toBe('{"kind":"set","var":"☁ a","value":"1"}');
  });

  it('escapes quotes, backslashes, newlines and lone surrogates like JSON.stringify', () => {
    const name = '☁ "q"\\\n\ud800';
    const text = encodeSet(dialects.seed, name, '2');
    expect(text).not.toContain('\n');
    expect(JSON.parse(text)).toEqual({ kind: 'set', variable: name, value: '2' });
  });
});

describe('joinFrame', () => {
  it('separates messages with a newline, not a JSON list', () => {
    const a = encodeSet(dialects.seed, '☁ a', '1');
    const b = encodeSet(dialects.seed, '☁ b', '2');
    expect(joinFrame([a, b])).toBe(`${a}\n${b}`);
    expect(joinFrame([a])).toBe(a);
  });
});

describe('client-side encoders', () => {
  it('encodes a seed handshake with `room`', () => {
    expect(JSON.parse(encodeHandshake('seed', 'r1', 'alice', { '☁ a': '1' }))).toEqual({
      kind: 'handshake',
      room: 'r1',
      username: 'alice',
      variables: { '☁ a': '1' },
    });
  });

  it('encodes a legacy handshake with `id`', () => {
    expect(JSON.parse(encodeHandshake('legacy', 'r1', 'alice', [['☁ a', '1']]))).toEqual({
      kind: 'handshake',
      id: 'r1',
      username: 'alice',
      variables: { '☁ a': '1' },
    });
  });

  it('keeps a `__proto__` entry as a variable, so tests can send it', () => {
    const text = encodeHandshake('seed', 'r', 'alice', [['__proto__', '1']]);
    expect(text).toContain('"variables":{"__proto__":"1"}');
    expect(parseHandshakeFrame(text)).toMatchObject({ ok: false, error: { reason: 'variable-name-invalid' } });
  });

  it('encodes client sets that the server parses in the same dialect', () => {
    for (const dialect of [dialects.seed, dialects.legacy]) {
      const result = parseSingle(encodeClientSet(dialect.name, '☁ a', '-3'), dialect);
      expect(result).toEqual({ ok: true, value: { kind: 'set', variable: '☁ a', value: '-3', valid: true } });
    }
  });
});

describe('parseServerFrame (client side)', () => {
  it('reads every set of a batched frame in order', () => {
    const text = joinFrame([encodeSet(dialects.legacy, '☁ a', '1'), encodeSet(dialects.legacy, '☁ b', '2')]);
    expect(parseServerFrame(text, 'legacy')).toEqual([
      { kind: 'set', variable: '☁ a', value: '1', received: '1' },
      { kind: 'set', variable: '☁ b', value: '2', received: '2' },
    ]);
  });

  it.each<[DialectName, string, string | number]>([
    ['scratch', '12', 12],
    ['scratch', '\u000112', '12'],
    ['scratch', '007', '007'],
    ['scratch', '1e+21', 1e21],
    ['seed', '12', '12'],
    ['seed', '\u000112', '12'],
    ['legacy', '\u0001\u0001x', '\u0001x'],
  ])('a %s client holds the value stored as %j as %j, as its set of it is received', (dialect, stored, held) => {
    expect(receivedValue(dialect, stored)).toBe(held);
    expect(parseServerFrame(encodeSet(dialects[dialect], '☁ a', stored), dialect)).toEqual([
      { kind: 'set', variable: '☁ a', value: String(held), received: held },
    ]);
  });

  it.each([
    ['an empty frame', ''],
    ['a trailing newline', '{"kind":"set","variable":"☁ a","value":"1"}\n'],
    ['a JSON list', '[{"kind":"set","variable":"☁ a","value":"1"}]'],
    ['another dialect', '{"kind":"set","var":"☁ a","value":"1"}'],
    ['a numeric value', '{"kind":"set","variable":"☁ a","value":1}'],
    ['another kind', '{"kind":"get","variable":"☁ a","value":"1"}'],
  ])('throws ServerFrameError (CV_ERR_SERVER_FRAME) on %s', (_label, text) => {
    expect(() => parseServerFrame(text, 'seed')).toThrow(ServerFrameError);
    try {
      parseServerFrame(text, 'seed');
    } catch (error) {
      expect(error).toMatchObject({ code: 'CV_ERR_SERVER_FRAME', frame: text });
    }
  });
});
