import { describe, expect, it } from 'vitest';
import {
  CloseCode,
  DEFAULT_LIMITS,
  dialects,
  encodeClientSet,
  encodeHandshake,
  encodeScratchCreate,
  encodeScratchDelete,
  encodeScratchRename,
  encodeSet,
  parseFrame,
  parseFrameMessages,
  parseHandshakeFrame,
  parseServerFrame,
  ServerFrameError,
} from '../src/index.ts';
import type { ClientMessage, HandshakeFrame, ProtocolLimits } from '../src/index.ts';

const { scratch, seed, legacy } = dialects;

function json(fields: Record<string, unknown>): string {
  return JSON.stringify(fields);
}

function handshake(extra: Record<string, unknown> = {}): string {
  return json({ method: 'handshake', project_id: '123456', user: 'player1234', ...extra });
}

function joined(text: string, limits: ProtocolLimits = DEFAULT_LIMITS): HandshakeFrame {
  const result = parseHandshakeFrame(text, limits);
  if (!result.ok) throw new Error(`expected a handshake, got ${result.error.reason}`);
  return result.value;
}

function refusal(text: string, limits: ProtocolLimits = DEFAULT_LIMITS): { code: number; reason: string } {
  const result = parseHandshakeFrame(text, limits);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value.handshake)}`);
  return { code: result.error.code, reason: result.error.reason };
}

/** The one message of a scratch frame (throws otherwise). */
function one(text: string, limits: ProtocolLimits = DEFAULT_LIMITS): ClientMessage {
  const { messages, error } = parseFrameMessages(text, scratch, limits);
  if (error !== null || messages.length !== 1) throw new Error(`expected one message, got ${JSON.stringify({ messages, error })}`);
  return messages[0] as ClientMessage;
}

/** The error of a scratch frame whose first message is bad. */
function failure(text: string, limits: ProtocolLimits = DEFAULT_LIMITS): { code: number; reason: string } | null {
  const { messages, error } = parseFrameMessages(text, scratch, limits);
  expect(messages).toEqual([]);
  return error === null ? null : { code: error.code, reason: error.reason };
}

describe("scratch handshake: what today's clients send", () => {
  it("parses Scratch's editor handshake (user and project_id as strings, a final newline)", () => {
    const frame = joined('{"method":"handshake","user":"griffpatch","project_id":"10128407"}\n');
    expect(frame.dialect.name).toBe('scratch');
    expect(frame.handshake).toEqual({
      kind: 'handshake',
      room: '10128407',
      username: 'griffpatch',
      variables: null,
      replaced: [],
    });
    expect(frame.rest).toBe('');
  });

  it("parses the Packager's handshake (no newline; a p4-@<file name> project id)", () => {
    const frame = joined('{"method":"handshake","project_id":"p4-@My Game (1).sb3","user":"player0042"}');
    expect(frame.handshake.room).toBe('p4-%40My%20Game%20%281%29.sb3');
    expect(frame.handshake.username).toBe('player0042');
  });

  it("parses scratchattach's handshake (Python separators, ASCII escapes, a numeric project id)", () => {
    const frame = joined('{"method": "handshake", "user": "scratchattach", "project_id": 104}\n');
    expect(frame.handshake).toMatchObject({ room: '104', username: 'scratchattach', variables: null });
  });

  it('reads a numeric project id as its decimal string: 104 and "104" are one room', () => {
    expect(joined(handshake({ project_id: 104 })).handshake.room).toBe(joined(handshake({ project_id: '104' })).handshake.room);
    expect(joined(handshake({ project_id: 0 })).handshake.room).toBe('0');
    expect(joined(handshake({ project_id: Number.MAX_SAFE_INTEGER })).handshake.room).toBe('9007199254740991');
  });

  it.each([
    ['negative', '-1'],
    ['fractional', '1.5'],
    ['above the safe integers', '9007199254740992'],
    ['huge', '1e21'],
    ['written as 1e999 (Infinity)', '1e999'],
  ])('refuses a %s numeric project id with 4000 room-invalid', (_label, literal) => {
    expect(refusal(`{"method":"handshake","project_id":${literal},"user":"alice"}`)).toEqual({ code: 4000, reason: 'room-invalid' });
  });

  it.each([
    ['missing', {}],
    ['empty', { project_id: '' }],
    ['null', { project_id: null }],
    ['a boolean', { project_id: true }],
    ['an object', { project_id: { id: 1 } }],
    ['a list', { project_id: ['1'] }],
    ['1000 chars', { project_id: '1'.repeat(1000) }],
  ])('refuses a project id that is %s with 4000 room-invalid', (_label, fields) => {
    const text = json({ method: 'handshake', user: 'alice', ...fields });
    expect(refusal(text)).toEqual({ code: 4000, reason: 'room-invalid' });
  });

  it('accepts a project id of 999 chars (TurboWarp accepts 1-999), and honours a configured bound', () => {
    expect(joined(handshake({ project_id: '1'.repeat(999) })).handshake.room).toBe('1'.repeat(999));
    expect(refusal(handshake({ project_id: '12345' }), { ...DEFAULT_LIMITS, maxProjectIdLength: 4 }).reason).toBe('room-invalid');
  });

  it('maps project ids with other characters to an escaped room id (Packager ids, unicode)', () => {
    expect(joined(handshake({ project_id: 'p4-$https://example.com/game.sb3?v=2' })).handshake.room).toBe('p4-%24https%3A%2F%2Fexample.com%2Fgame.sb3%3Fv%3D2');
    expect(joined(handshake({ project_id: 'p4-@ゲーム.sb3' })).handshake.room).toBe('p4-%40%E3%82%B2%E3%83%BC%E3%83%A0.sb3');
    expect(joined(handshake({ project_id: '123-room 😀' })).handshake.room).toBe('123-room%20%F0%9F%98%80');
  });

  it.each(['player1234', 'player10000', 'a', 'x'.repeat(20), 'Some_User-1', 'griffpatch'])('accepts the username %j', (user) => {
    expect(joined(handshake({ user })).handshake.username).toBe(user);
  });

  it.each([
    ['empty', ''],
    ['21 chars', 'x'.repeat(21)],
    ['with a space', 'player 1'],
    ['with a non-ASCII letter', 'émile'],
    ['a number', 1234],
    ['null', null],
  ])('refuses a username that is %s with 4002 username-invalid', (_label, user) => {
    expect(refusal(handshake({ user }))).toEqual({ code: 4002, reason: 'username-invalid' });
  });

  it('refuses a missing username with 4002', () => {
    expect(refusal(json({ method: 'handshake', project_id: '1' }))).toEqual({ code: 4002, reason: 'username-invalid' });
  });

  it('applies the configured block list (4002 username-blocked)', () => {
    const limits: ProtocolLimits = { ...DEFAULT_LIMITS, usernameBlockList: ['mallory'] };
    expect(refusal(handshake({ user: 'xMalloryx' }), limits)).toEqual({ code: 4002, reason: 'username-blocked' });
  });

  it('honours a configured shortest scratch username without changing the kind dialects', () => {
    const limits: ProtocolLimits = { ...DEFAULT_LIMITS, scratchUsernameMinLength: 3 };
    expect(refusal(handshake({ user: 'ab' }), limits).reason).toBe('username-invalid');
    expect(refusal(json({ kind: 'handshake', room: 'r', username: 'ab', variables: { '☁ a': '1' } })).reason).toBe('username-invalid');
  });

  it('checks the project id (4000) before the username (4002)', () => {
    expect(refusal(handshake({ project_id: '', user: '' }))).toEqual({ code: 4000, reason: 'room-invalid' });
  });

  it('ignores additional properties, variables included', () => {
    expect(joined(handshake({ variables: { '☁ a': '1' }, token: 'x' })).handshake.variables).toBeNull();
  });
});

describe('scratch handshake: dialect detection and refusals', () => {
  it('picks scratch for an own `method` without `kind`, and a kind dialect when `kind` is present', () => {
    expect(joined(handshake()).dialect.name).toBe('scratch');
    const both = json({ kind: 'handshake', method: 'handshake', room: 'r', username: 'alice', variables: { '☁ a': '1' } });
    expect(joined(both).dialect.name).toBe('seed');
  });

  it.each([
    ['a set', json({ method: 'set', name: '☁ a', value: '1' }), 'expected-handshake'],
    ['an unknown method', json({ method: 'hello', project_id: '1', user: 'alice' }), 'expected-handshake'],
    ['a null method', json({ method: null, project_id: '1', user: 'alice' }), 'missing-method'],
    ['a numeric method', json({ method: 1, project_id: '1', user: 'alice' }), 'missing-method'],
  ])('closes with 4000 on %s as the first message', (_label, text, reason) => {
    expect(refusal(text)).toEqual({ code: 4000, reason });
  });

  it('does not read `method`, `project_id` or `user` through a `__proto__` key', () => {
    expect(refusal('{"__proto__":{"method":"handshake","project_id":"1","user":"alice"}}').reason).toBe('missing-kind');
    expect(refusal('{"method":"handshake","project_id":"1","__proto__":{"user":"alice"}}').reason).toBe('username-invalid');
    expect(refusal('{"method":"handshake","user":"alice","__proto__":{"project_id":"1"}}').reason).toBe('room-invalid');
  });

  it('reads no field inherited from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto['method'] = 'handshake';
    proto['user'] = 'alice';
    try {
      expect(refusal('{"project_id":"1","user":"alice"}').reason).toBe('missing-kind');
      expect(refusal('{"method":"handshake","project_id":"1"}').reason).toBe('username-invalid');
    } finally {
      delete proto['method'];
      delete proto['user'];
    }
  });

  it('accepts a project id of `__proto__` or `constructor` as plain data', () => {
    expect(joined(handshake({ project_id: '__proto__' })).handshake.room).toBe('__proto__');
    expect(joined(handshake({ project_id: 'constructor' })).handshake.room).toBe('constructor');
  });
});

describe('scratch first frame holding more than the handshake', () => {
  const set = json({ method: 'set', name: '☁ a', value: '1' });

  it('returns the handshake and the rest of the frame, unread', () => {
    const frame = joined(`${handshake()}\n${set}\n${set}\n`);
    expect(frame.handshake.room).toBe('123456');
    expect(frame.rest).toBe(`${set}\n${set}\n`);
    expect(parseFrameMessages(frame.rest, frame.dialect).messages).toHaveLength(2);
  });

  it('returns no rest when only blank lines follow, so nothing empty is replayed', () => {
    expect(joined(`${handshake()}\n\n\r\n`).rest).toBe('');
  });

  it('skips blank lines before the handshake', () => {
    expect(joined(`\n\n${handshake()}\n${set}`).rest).toBe(set);
  });

  it("refuses the frame with the handshake's own error, whatever follows", () => {
    expect(refusal(`${handshake({ project_id: '' })}\n${set}`)).toEqual({ code: 4000, reason: 'room-invalid' });
    expect(refusal(`${handshake({ user: '' })}\n${set}`)).toEqual({ code: 4002, reason: 'username-invalid' });
  });

  it('refuses a set before the handshake', () => {
    expect(refusal(`${set}\n${handshake()}`).reason).toBe('expected-handshake');
  });

  it('keeps one JSON object per frame for the kind dialects: two kind lines are not JSON', () => {
    const kind = json({ kind: 'handshake', room: 'r', username: 'alice', variables: { '☁ a': '1' } });
    expect(refusal(`${kind}\n${json({ kind: 'set', variable: '☁ a', value: '2' })}`).reason).toBe('invalid-json');
  });

  it('still accepts a kind handshake written over several lines (JSON whitespace)', () => {
    const pretty = JSON.stringify({ kind: 'handshake', room: 'r', username: 'alice', variables: { '☁ a': '1' } }, null, 2);
    expect(pretty).toContain('\n');
    expect(joined(pretty).dialect.name).toBe('seed');
  });

  it.each([
    ['a first line that is not JSON', `nope\n${handshake()}`],
    ['a first line that is a JSON list', `[1]\n${handshake()}`],
    ['only blank lines', '\n \n'],
  ])('refuses %s as invalid-json', (_label, text) => {
    expect(refusal(text)).toEqual({ code: 4000, reason: 'invalid-json' });
  });
});

describe('scratch set and create', () => {
  it("parses Scratch's set (user and project_id on every message are ignored)", () => {
    const text = '{"method":"set","user":"griffpatch","project_id":"10128407","name":"☁ score","value":"42"}\n';
    // A string that reads as a number is stored marked, so it goes on as a string.
    expect(one(text)).toEqual({ kind: 'set', variable: '☁ score', value: '\u000142', valid: true });
  });

  it("stores a number as its decimal text, and a string that is a number's writing marked (stored-value.ts)", () => {
    expect(one(json({ method: 'set', name: '☁ a', value: 42 }))).toMatchObject({ value: '42', valid: true });
    expect(one(json({ method: 'set', name: '☁ a', value: '42' }))).toMatchObject({ value: '\u000142', valid: true });
    // No number is written "1e3": it reads back as the string it is, unmarked.
    expect(one(json({ method: 'set', name: '☁ a', value: '1e3' }))).toMatchObject({ value: '1e3', valid: true });
  });

  it('parses create as a set', () => {
    expect(one(json({ method: 'create', name: '☁ a', value: 0 }))).toEqual({ kind: 'set', variable: '☁ a', value: '0', valid: true });
  });

  it.each<[string, string]>([
    ['12', '12'],
    ['-0.5', '-0.5'],
    ['-0', '0'],
    ['1e21', '1e+21'],
    ['1.5e-7', '1.5e-7'],
    ['0.30000000000000004', '0.30000000000000004'],
    ['1e308', '1e+308'],
    // Beyond 2^53 JSON.parse rounds, as on TurboWarp's server: the value is what JavaScript reads.
    ['12345678901234567890', '12345678901234567000'],
  ])('reads the number %s as the value %j', (literal, value) => {
    expect(one(`{"method":"set","name":"☁ a","value":${literal}}`)).toEqual({ kind: 'set', variable: '☁ a', value, valid: true });
  });

  it.each([
    ['1e999 (Infinity)', '1e999'],
    ['-1e999', '-1e999'],
    ['true', 'true'],
    ['false', 'false'],
    ['null', 'null'],
    ['an object', '{"n":1}'],
    ['a list', '[1]'],
  ])('ignores a set whose value is %s (valid: false, value "")', (_label, literal) => {
    expect(one(`{"method":"set","name":"☁ a","value":${literal}}`)).toEqual({ kind: 'set', variable: '☁ a', value: '', valid: false });
  });

  it("ignores a set with no value (Scratch's editor omits a null value)", () => {
    expect(one(json({ method: 'set', name: '☁ a' }))).toMatchObject({ valid: false });
  });

  it("accepts an empty value, as TurboWarp's server does (projects clear their cloud data with it)", () => {
    expect(one(json({ method: 'set', name: '☁ a', value: '' }))).toEqual({ kind: 'set', variable: '☁ a', value: '', valid: true });
  });

  it.each(['hello', '.', '-', '1e', ' 1', 'NaN', 'Infinity'])('ignores the text %j, keeping it as sent', (value) => {
    expect(one(json({ method: 'set', name: '☁ a', value }))).toEqual({ kind: 'set', variable: '☁ a', value, valid: false });
  });

  it('accepts 100,000 digits and ignores 100,001', () => {
    expect(one(json({ method: 'set', name: '☁ a', value: '9'.repeat(100_000) }))).toMatchObject({ valid: true });
    expect(one(json({ method: 'set', name: '☁ a', value: '9'.repeat(100_001) }))).toMatchObject({ valid: false });
  });

  it('accepts text values when allowTextValues is set, but never a lone surrogate', () => {
    const limits: ProtocolLimits = { ...DEFAULT_LIMITS, allowTextValues: true };
    expect(one(json({ method: 'set', name: '☁ a', value: 'hello 😀' }), limits)).toMatchObject({ value: 'hello 😀', valid: true });
    expect(one(json({ method: 'set', name: '☁ a', value: '12' }), limits)).toMatchObject({ value: '\u000112', valid: true });
    expect(one(json({ method: 'set', name: '☁ a', value: '\u0001x' }), limits)).toMatchObject({ value: '\u0001\u0001x', valid: true });
    expect(one(json({ method: 'set', name: '☁ a', value: 'x\ud800' }), limits)).toMatchObject({ valid: false });
    expect(one(json({ method: 'set', name: '☁ a', value: 5 }), limits)).toMatchObject({ value: '5', valid: true });
  });

  it.each(['☁ a', ':cloud: a', '☁ __proto__', '☁ constructor', '☁ 分数', '☁ 😀', '☁ ' + 'x'.repeat(1022)])('accepts the name %j', (name) => {
    expect(one(json({ method: 'set', name, value: '1' }))).toMatchObject({ variable: name, valid: true });
  });

  it.each([
    ['only the cloud prefix', '☁ '],
    ['only the :cloud: prefix', ':cloud: '],
    ['no prefix', 'score'],
    ['`__proto__`', '__proto__'],
    ['`constructor`', 'constructor'],
    ['1025 chars', '☁ ' + 'x'.repeat(1023)],
    ['a lone surrogate', '☁ \udc00'],
    ['the prefix without its space', '☁a'],
  ])('closes with 4000 variable-name-invalid on a name that is %s', (_label, name) => {
    expect(failure(json({ method: 'set', name, value: '1' }))).toEqual({ code: 4000, reason: 'variable-name-invalid' });
  });

  it.each([
    ['missing', {}],
    ['a number', { name: 1 }],
    ['null', { name: null }],
  ])('closes with 4000 variable-missing on a name that is %s', (_label, fields) => {
    expect(failure(json({ method: 'set', value: '1', ...fields }))).toEqual({ code: 4000, reason: 'variable-missing' });
  });

  it('does not read `name` or `value` through a `__proto__` key', () => {
    expect(failure('{"method":"set","__proto__":{"name":"☁ a"},"value":"1"}')?.reason).toBe('variable-missing');
    expect(one('{"method":"set","name":"☁ a","__proto__":{"value":"1"}}')).toMatchObject({ valid: false });
  });

  it('reads no `name` inherited from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto['name'] = '☁ a';
    try {
      expect(failure('{"method":"set","value":"1"}')?.reason).toBe('variable-missing');
    } finally {
      delete proto['name'];
    }
  });
});

describe('scratch rename and delete', () => {
  it('parses a rename', () => {
    expect(one(json({ method: 'rename', name: '☁ a', new_name: ':cloud: b', user: 'u', project_id: '1' }))).toEqual({
      kind: 'rename',
      variable: '☁ a',
      newName: ':cloud: b',
    });
  });

  it('parses a delete', () => {
    expect(one(json({ method: 'delete', name: '☁ a' }))).toEqual({ kind: 'delete', variable: '☁ a' });
  });

  it('leaves whether the old name exists to the room (any string)', () => {
    expect(one(json({ method: 'rename', name: 'not cloud', new_name: '☁ b' }))).toMatchObject({ variable: 'not cloud' });
    expect(one(json({ method: 'delete', name: '__proto__' }))).toMatchObject({ variable: '__proto__' });
  });

  it.each([
    ['missing', {}],
    ['not a name', { new_name: 'b' }],
    ['only the prefix', { new_name: '☁ ' }],
    ['a number', { new_name: 2 }],
    ['too long', { new_name: '☁ ' + 'x'.repeat(1023) }],
  ])('closes with 4000 new-name-invalid when new_name is %s', (_label, fields) => {
    expect(failure(json({ method: 'rename', name: '☁ a', ...fields }))).toEqual({ code: 4000, reason: 'new-name-invalid' });
  });

  it('closes with 4000 variable-missing when a rename or delete has no name', () => {
    expect(failure(json({ method: 'rename', new_name: '☁ b' }))).toEqual({ code: 4000, reason: 'variable-missing' });
    expect(failure(json({ method: 'delete', name: 3 }))).toEqual({ code: 4000, reason: 'variable-missing' });
  });
});

describe('scratch: other messages', () => {
  it.each([
    ['a second handshake', handshake(), 'handshake-repeated'],
    ['a second handshake with a bad username', handshake({ user: '' }), 'handshake-repeated'],
    ['an unknown method', json({ method: 'get', name: '☁ a' }), 'unknown-method'],
    ['a method differing in case', json({ method: 'SET', name: '☁ a', value: '1' }), 'unknown-method'],
    ['a missing method', json({ name: '☁ a', value: '1' }), 'missing-method'],
    ['a null method', json({ method: null }), 'missing-method'],
    ['a kind message', json({ kind: 'set', variable: '☁ a', value: '1' }), 'missing-method'],
    ['a method through `__proto__`', '{"__proto__":{"method":"set"},"name":"☁ a","value":"1"}', 'missing-method'],
    ['not JSON', '{method:', 'invalid-json'],
    ['a JSON list', '[{"method":"set"}]', 'not-an-object'],
    ['a JSON number', '42', 'not-an-object'],
    ['JSON null', 'null', 'not-an-object'],
  ])('closes with 4000 on %s', (_label, text, reason) => {
    expect(failure(text)).toEqual({ code: 4000, reason });
  });
});

describe('scratch frames of several messages', () => {
  const a = json({ method: 'set', name: '☁ a', value: '1' });
  const b = json({ method: 'set', name: '☁ b', value: 2 });
  const c = json({ method: 'create', name: '☁ c', value: '3' });
  // Strings of number text are stored marked; the number 2 as its text.
  const setA = { kind: 'set', variable: '☁ a', value: '\u00011', valid: true };
  const setB = { kind: 'set', variable: '☁ b', value: '2', valid: true };
  const setC = { kind: 'set', variable: '☁ c', value: '\u00013', valid: true };

  it("reads every message in order (scratchattach's set_vars: one frame, a newline after each)", () => {
    expect(parseFrameMessages(`${a}\n${b}\n${c}\n`, scratch)).toEqual({ messages: [setA, setB, setC], error: null });
  });

  it('reads a frame without a final newline', () => {
    expect(parseFrameMessages(`${a}\n${b}`, scratch)).toEqual({ messages: [setA, setB], error: null });
  });

  it('skips empty and blank lines, and takes \\r\\n line ends', () => {
    expect(parseFrameMessages(`\n\n${a}\n\n  \n${b}\r\n\r\n${c}`, scratch)).toEqual({ messages: [setA, setB, setC], error: null });
  });

  it('hands over the messages before a bad one, then its error', () => {
    expect(parseFrameMessages(`${a}\nnope\n${b}`, scratch)).toEqual({
      messages: [setA],
      error: { code: 4000, reason: 'invalid-json' },
    });
    expect(parseFrameMessages(`${a}\n${b}\n${json({ method: 'get' })}\n${c}`, scratch)).toEqual({
      messages: [setA, setB],
      error: { code: 4000, reason: 'unknown-method' },
    });
  });

  it('ignores an invalid value in the middle and goes on', () => {
    const bad = json({ method: 'set', name: '☁ x', value: true });
    expect(parseFrameMessages(`${a}\n${bad}\n${b}`, scratch).messages).toEqual([setA, { kind: 'set', variable: '☁ x', value: '', valid: false }, setB]);
  });

  it.each([
    ['empty', ''],
    ['one newline', '\n'],
    ['blank lines', ' \n\t\n\r\n'],
  ])('closes an %s frame with 4000 empty-frame', (_label, text) => {
    expect(parseFrameMessages(text, scratch)).toEqual({ messages: [], error: { code: 4000, reason: 'empty-frame' } });
  });

  it('stops reading when the sink returns false', () => {
    const seen: ClientMessage[] = [];
    const error = parseFrame(`${a}\n${b}\nnope`, scratch, DEFAULT_LIMITS, {
      onClientMessage(message) {
        seen.push(message);
        return false;
      },
    });
    expect(error).toBeNull();
    expect(seen).toEqual([setA]);
  });

  it('keeps the kind dialects at one JSON object per frame', () => {
    const kindSet = json({ kind: 'set', variable: '☁ a', value: '1' });
    expect(parseFrameMessages(`${kindSet}\n${kindSet}`, seed).error?.reason).toBe('invalid-json');
    expect(parseFrameMessages(`${kindSet}\n`, seed).messages).toHaveLength(1);
    expect(parseFrameMessages('', legacy).error?.reason).toBe('invalid-json');
  });
});

describe('scratch encoders', () => {
  it("encodes a server set with the stored value's type: a number as a JSON number, a string as a JSON string", () => {
    expect(encodeSet(scratch, '☁ x', '12')).toBe('{"method":"set","name":"☁ x","value":12}');
    expect(encodeSet(scratch, '☁ x', '\u000112')).toBe('{"method":"set","name":"☁ x","value":"12"}');
    expect(encodeSet(scratch, '☁ x', '')).toBe('{"method":"set","name":"☁ x","value":""}');
    expect(encodeSet(scratch, '☁ x', 'hello')).toBe('{"method":"set","name":"☁ x","value":"hello"}');
    // Text earlier versions (or a 2020 client) stored: a number where it is a number's
    // writing, else the string it is (never rewritten: "007" does not become 7).
    expect(encodeSet(scratch, '☁ x', '1e+21')).toBe('{"method":"set","name":"☁ x","value":1e+21}');
    expect(encodeSet(scratch, '☁ x', '007')).toBe('{"method":"set","name":"☁ x","value":"007"}');
    expect(encodeSet(scratch, '☁ x', '1e21')).toBe('{"method":"set","name":"☁ x","value":"1e21"}');
    expect(encodeSet(scratch, '☁ x', '-0')).toBe('{"method":"set","name":"☁ x","value":"-0"}');
    expect(encodeSet(scratch, '☁ x', '1e400')).toBe('{"method":"set","name":"☁ x","value":"1e400"}');
  });

  it('encodes a server set for the 2020 dialects always as a string, the mark removed', () => {
    expect(encodeSet(seed, '☁ x', '12')).toBe('{"kind":"set","variable":"☁ x","value":"12"}');
    expect(encodeSet(legacy, '☁ x', '\u000112')).toBe('{"kind":"set","var":"☁ x","value":"12"}');
    expect(encodeSet(legacy, '☁ x', '\u0001\u0001x')).toBe('{"kind":"set","var":"☁ x","value":"\\u0001x"}');
  });

  it("escapes U+0085, U+2028 and U+2029, where Python's splitlines would cut a line", () => {
    const name = '☁ a\u2028b\u2029c\u0085d';
    const text = encodeSet(scratch, name, 'x\u2028');
    expect(text).not.toMatch(/[\u0085\u2028\u2029]/);
    expect(text).toContain('\\u2028');
    expect(JSON.parse(text)).toEqual({ method: 'set', name, value: 'x\u2028' });
  });

  it('encodes a client handshake without variables', () => {
    expect(encodeHandshake('scratch', '123', 'player1', [['☁ a', '1']])).toBe('{"method":"handshake","project_id":"123","user":"player1"}');
    expect(encodeHandshake('scratch', '123', 'player1', { '☁ a': '1' })).toBe('{"method":"handshake","project_id":"123","user":"player1"}');
  });

  it('encodes client set, create, rename and delete that the server parses back', () => {
    expect(one(encodeClientSet('scratch', '☁ a', '-3'))).toEqual({ kind: 'set', variable: '☁ a', value: '\u0001-3', valid: true });
    expect(one(encodeClientSet('scratch', '☁ a', -3))).toEqual({ kind: 'set', variable: '☁ a', value: '-3', valid: true });
    expect(encodeClientSet('scratch', '☁ a', -3)).toBe('{"method":"set","name":"☁ a","value":-3}');
    expect(one(encodeScratchCreate('☁ a', '4'))).toEqual({ kind: 'set', variable: '☁ a', value: '\u00014', valid: true });
    expect(encodeScratchCreate('☁ a', '4')).toBe('{"method":"create","name":"☁ a","value":"4"}');
    expect(encodeScratchCreate('☁ a', 4)).toBe('{"method":"create","name":"☁ a","value":4}');
    expect(one(encodeScratchRename('☁ a', '☁ b'))).toEqual({ kind: 'rename', variable: '☁ a', newName: '☁ b' });
    expect(encodeScratchRename('☁ a', '☁ b')).toBe('{"method":"rename","name":"☁ a","new_name":"☁ b"}');
    expect(one(encodeScratchDelete('☁ a'))).toEqual({ kind: 'delete', variable: '☁ a' });
    expect(encodeScratchDelete('☁ a')).toBe('{"method":"delete","name":"☁ a"}');
  });
});

describe('parseServerFrame in the scratch dialect (client side)', () => {
  it("reads string and numeric values (TurboWarp's server echoes numbers as numbers)", () => {
    const text = '{"method":"set","name":"☁ a","value":"1"}\n{"method":"set","name":"☁ b","value":-2.5}';
    expect(parseServerFrame(text, 'scratch')).toEqual([
      { kind: 'set', variable: '☁ a', value: '1', received: '1' },
      { kind: 'set', variable: '☁ b', value: '-2.5', received: -2.5 },
    ]);
  });

  it.each([
    ['a boolean value', '{"method":"set","name":"☁ a","value":true}'],
    ['no value', '{"method":"set","name":"☁ a"}'],
    ['another method', '{"method":"create","name":"☁ a","value":"1"}'],
    ['a kind set', '{"kind":"set","variable":"☁ a","value":"1"}'],
    ['a numeric name', '{"method":"set","name":1,"value":"1"}'],
  ])('throws ServerFrameError on %s', (_label, text) => {
    expect(() => parseServerFrame(text, 'scratch')).toThrow(ServerFrameError);
  });
});

describe('dialect flags and close codes', () => {
  it('lets only scratch sets create variables and only scratch frames hold several messages', () => {
    expect([scratch.setsCreateVariables, scratch.manyMessagesPerFrame]).toEqual([true, true]);
    expect([seed.setsCreateVariables, seed.manyMessagesPerFrame]).toEqual([false, false]);
    expect([legacy.setsCreateVariables, legacy.manyMessagesPerFrame]).toEqual([false, false]);
  });

  it("names 4004 as today's clients read it, and 4005", () => {
    expect(CloseCode.ProjectUnavailable).toBe(4004);
    expect(CloseCode.TryAgainLater).toBe(4004);
    expect(CloseCode.Security).toBe(4005);
  });
});
