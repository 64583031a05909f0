import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, MAX_VARIABLES, parseHandshakeFrame } from '../src/index.ts';
import type { ProtocolLimits } from '../src/index.ts';

const vars = { '☁ a': '1', '☁ b': '2' };

function frame(fields: Record<string, unknown>): string {
  return JSON.stringify(fields);
}

function seed(extra: Record<string, unknown> = {}): string {
  return frame({ kind: 'handshake', room: '1234', username: 'alice', variables: vars, ...extra });
}

function refusal(text: string, limits: ProtocolLimits = DEFAULT_LIMITS): { code: number; reason: string } {
  const result = parseHandshakeFrame(text, limits);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value.handshake)}`);
  return { code: result.error.code, reason: result.error.reason };
}

describe('parseHandshakeFrame: a valid handshake', () => {
  it('parses a seed handshake and picks the seed dialect', () => {
    const result = parseHandshakeFrame(seed());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.dialect.name).toBe('seed');
    expect(result.value.handshake).toEqual({
      kind: 'handshake',
      room: '1234',
      username: 'alice',
      variables: [
        ['☁ a', '1'],
        ['☁ b', '2'],
      ],
      replaced: [],
    });
  });

  it('parses a legacy handshake (`id`) and picks the legacy dialect', () => {
    const result = parseHandshakeFrame(frame({ kind: 'handshake', id: 'proj', username: 'alice', variables: vars }));
    expect(result.ok && result.value.dialect.name).toBe('legacy');
    expect(result.ok && result.value.handshake.room).toBe('proj');
  });

  it('reads a numeric legacy id as its decimal string (the 2020 client sent numbers)', () => {
    const result = parseHandshakeFrame(frame({ kind: 'handshake', id: 104, username: 'alice', variables: vars }));
    expect(result.ok && result.value.handshake.room).toBe('104');
  });

  it.each([-1, 1.5, 1e21])('refuses the numeric legacy id %j with 4000 room-invalid', (id) => {
    expect(refusal(frame({ kind: 'handshake', id, username: 'alice', variables: vars }))).toEqual({
      code: 4000,
      reason: 'room-invalid',
    });
  });

  it('makes a handshake with both `room` and `id` a seed handshake', () => {
    const result = parseHandshakeFrame(frame({ kind: 'handshake', id: 'x', room: 'r', username: 'alice', variables: vars }));
    expect(result.ok && result.value.dialect.name).toBe('seed');
    expect(result.ok && result.value.handshake.room).toBe('r');
  });

  it('refuses a numeric seed room: only legacy ids may be numbers', () => {
    expect(refusal(seed({ room: 104 }))).toEqual({ code: 4000, reason: 'room-invalid' });
  });

  it('ignores additional properties', () => {
    expect(parseHandshakeFrame(seed({ extra: [1, 2], token: 'x' })).ok).toBe(true);
  });

  it('replaces invalid initial values with "0" and names them in `replaced`', () => {
    const variables = { '☁ ok': '5', '☁ text': 'hello', '☁ num': 7, '☁ nul': null, '☁ empty': '' };
    const result = parseHandshakeFrame(seed({ variables }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.handshake.variables).toEqual([
      ['☁ ok', '5'],
      ['☁ text', '0'],
      ['☁ num', '0'],
      ['☁ nul', '0'],
      ['☁ empty', '0'],
    ]);
    expect(result.value.handshake.replaced).toEqual(['☁ text', '☁ num', '☁ nul', '☁ empty']);
  });

  it('accepts exactly 1 and exactly 10 variables', () => {
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`☁ v${i}`, String(i)]));
    expect(parseHandshakeFrame(seed({ variables: { '☁ a': '1' } })).ok).toBe(true);
    expect(parseHandshakeFrame(seed({ variables: ten })).ok).toBe(true);
  });
});

describe('parseHandshakeFrame: each refusal', () => {
  it.each([
    ['not JSON', '{kind:', 'invalid-json'],
    ['empty', '', 'invalid-json'],
    ['a JSON array', '[{"kind":"handshake"}]', 'not-an-object'],
    ['a JSON string', '"handshake"', 'not-an-object'],
    ['a JSON number', '42', 'not-an-object'],
    ['JSON null', 'null', 'not-an-object'],
    ['missing kind', frame({ room: '1', username: 'alice', variables: vars }), 'missing-kind'],
    ['a non-string kind', seed({ kind: 1 }), 'missing-kind'],
    ['a set as the first message', frame({ kind: 'set', variable: '☁ a', value: '1' }), 'expected-handshake'],
    ['an unknown kind as the first message', seed({ kind: 'hello' }), 'expected-handshake'],
    ['no room and no id', frame({ kind: 'handshake', username: 'alice', variables: vars }), 'room-invalid'],
    ['an empty room', seed({ room: '' }), 'room-invalid'],
    ['a room of 129 chars', seed({ room: 'r'.repeat(129) }), 'room-invalid'],
    ['a room with a space', seed({ room: 'a b' }), 'room-invalid'],
    ['variables missing', frame({ kind: 'handshake', room: '1', username: 'alice' }), 'variables-invalid'],
    ['variables an array', seed({ variables: [['☁ a', '1']] }), 'variables-invalid'],
    ['variables null', seed({ variables: null }), 'variables-invalid'],
    ['variables a string', seed({ variables: '☁ a' }), 'variables-invalid'],
    ['no variables', seed({ variables: {} }), 'variables-count'],
    [
      'one variable too many',
      seed({ variables: Object.fromEntries(Array.from({ length: MAX_VARIABLES + 1 }, (_, i) => [`☁ v${i}`, '0'])) }),
      'variables-count',
    ],
    ['a name without the cloud prefix', seed({ variables: { '☁ a': '1', b: '2' } }), 'variable-name-invalid'],
    ['a name that is only the prefix', seed({ variables: { '☁ ': '1' } }), 'variable-name-invalid'],
    ['a name over 1024 chars', seed({ variables: { ['☁ ' + 'x'.repeat(1023)]: '1' } }), 'variable-name-invalid'],
    ['a name with a lone surrogate', seed({ variables: { '☁ \ud800x': '1' } }), 'variable-name-invalid'],
  ])('closes with 4000 on %s', (_label, text, reason) => {
    expect(refusal(text)).toEqual({ code: 4000, reason });
  });

  it.each([
    ['missing', { username: undefined }],
    ['too short', { username: 'ab' }],
    ['too long', { username: 'x'.repeat(21) }],
    ['with a space', { username: 'a b' }],
    ['a number', { username: 12345 }],
  ])('closes with 4002 username-invalid when the username is %s', (_label, extra) => {
    expect(refusal(seed(extra))).toEqual({ code: 4002, reason: 'username-invalid' });
  });

  it('closes with 4002 username-blocked when the username contains a block-list entry', () => {
    const limits = { ...DEFAULT_LIMITS, usernameBlockList: ['mallory'] };
    expect(refusal(seed({ username: 'xMALLORYx' }), limits)).toEqual({ code: 4002, reason: 'username-blocked' });
  });

  it('honours configured limits', () => {
    const limits = { ...DEFAULT_LIMITS, maxRoomLength: 3, maxVariables: 1 };
    expect(refusal(seed({ room: 'abcd' }), limits).reason).toBe('room-invalid');
    expect(refusal(seed({ room: 'abc' }), limits).reason).toBe('variables-count');
  });
});

describe('parseHandshakeFrame: order of checks (first failure wins)', () => {
  it('reports kind before room', () => {
    expect(refusal(frame({ kind: 'set', room: '', username: '', variables: [] })).reason).toBe('expected-handshake');
  });
  it('reports room before variables', () => {
    expect(refusal(seed({ room: '', variables: [] })).reason).toBe('room-invalid');
  });
  it('reports variables before a bad name', () => {
    expect(refusal(seed({ variables: Object.fromEntries(Array.from({ length: MAX_VARIABLES + 1 }, (_, i) => [`v${i}`, '0'])) })).reason).toBe(
      'variables-count',
    );
  });
  it('reports a bad name (4000) before a bad username (4002)', () => {
    expect(refusal(seed({ variables: { nope: '1' }, username: 'x' }))).toEqual({
      code: 4000,
      reason: 'variable-name-invalid',
    });
  });
  it('reports a missing kind in a legacy handshake before its room', () => {
    expect(refusal(frame({ id: -5, username: 'alice', variables: vars })).reason).toBe('missing-kind');
  });
});

describe('parseHandshakeFrame: prototype keys are plain data', () => {
  it('treats a `__proto__` variable key as a name (refused: no cloud prefix), not a prototype', () => {
    expect(refusal('{"kind":"handshake","room":"r","username":"alice","variables":{"__proto__":{"☁ a":"1"}}}').reason).toBe('variable-name-invalid');
  });

  it('counts a `__proto__` key among the variables', () => {
    expect(refusal('{"kind":"handshake","room":"r","username":"alice","variables":{"__proto__":"1"}}').reason).toBe('variable-name-invalid');
  });

  it('does not read `kind`, `room` or `username` through a `__proto__` key', () => {
    const text = '{"__proto__":{"kind":"handshake","room":"r","username":"alice","variables":{"☁ a":"1"}}}';
    expect(refusal(text).reason).toBe('missing-kind');
  });

  it('refuses variables given as a `constructor` or `hasOwnProperty` key', () => {
    const text = '{"kind":"handshake","room":"r","username":"alice","variables":{"constructor":"1","hasOwnProperty":"2"}}';
    expect(refusal(text).reason).toBe('variable-name-invalid');
  });

  it('reads no field inherited from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto['kind'] = 'handshake';
    proto['username'] = 'alice';
    try {
      expect(refusal('{"room":"r","username":"alice","variables":{"☁ a":"1"}}').reason).toBe('missing-kind');
      expect(refusal('{"kind":"handshake","room":"r","variables":{"☁ a":"1"}}').reason).toBe('username-invalid');
    } finally {
      delete proto['kind'];
      delete proto['username'];
    }
  });

  it('refuses an empty variables object even though Object.prototype has keys', () => {
    expect(refusal('{"kind":"handshake","room":"r","username":"alice","variables":{}}').reason).toBe('variables-count');
  });

  it('keeps cloud names that look like prototype keys as data', () => {
    const text = '{"kind":"handshake","room":"r","username":"alice","variables":{"☁ __proto__":"1","☁ constructor":"2"}}';
    const result = parseHandshakeFrame(text);
    expect(result.ok && result.value.handshake.variables).toEqual([
      ['☁ __proto__', '1'],
      ['☁ constructor', '2'],
    ]);
  });

  it('takes the last of duplicate keys (JSON.parse semantics)', () => {
    const result = parseHandshakeFrame('{"kind":"handshake","room":"a","room":"b","username":"alice","variables":{"☁ a":"1"}}');
    expect(result.ok && result.value.handshake.room).toBe('b');
  });
});
