import { describe, expect, it } from 'vitest';
import { checkUsername, DEFAULT_LIMITS, isValidRoom, isValidValue, isValidVariableName } from '../src/index.ts';
import type { ProtocolLimits } from '../src/index.ts';

describe('isValidValue', () => {
  it.each(['0', '1', '-1', '1.5', '1.', '.5', '-.5', '-0.25', '1e+21', '-2.5e-7', '1E5', '007', '1.e3'])('accepts the number %j', (value) => {
    expect(isValidValue(value, DEFAULT_LIMITS)).toBe(true);
  });

  it.each(['', '.', '-', '-.', '+1', '1.2.3', '--1', ' 1', '1 ', 'Infinity', '-Infinity', 'NaN', '0x1f', '1e', 'e5', '1e+', '1e1.5', '١'])(
    'refuses %j',
    (value) => {
      expect(isValidValue(value, DEFAULT_LIMITS)).toBe(false);
    },
  );

  it.each([1, null, true, undefined, {}, ['1']])('refuses the non-string %j', (value) => {
    expect(isValidValue(value, DEFAULT_LIMITS)).toBe(false);
  });

  it("accepts 100,000 digits and refuses 100,001 by default (TurboWarp's limit)", () => {
    expect(isValidValue('9'.repeat(100_000), DEFAULT_LIMITS)).toBe(true);
    expect(isValidValue('9'.repeat(100_001), DEFAULT_LIMITS)).toBe(false);
  });

  it("honours a configured maxValueLength (Scratch's own server: 256)", () => {
    const limits: ProtocolLimits = { ...DEFAULT_LIMITS, maxValueLength: 256 };
    expect(isValidValue('9'.repeat(256), limits)).toBe(true);
    expect(isValidValue('9'.repeat(257), limits)).toBe(false);
  });

  describe('with allowTextValues', () => {
    const text: ProtocolLimits = { ...DEFAULT_LIMITS, allowTextValues: true, maxValueLength: 10 };

    it.each(['hello', '', ' 1', 'NaN', '☁ é', '😀', 'a\nb'])('accepts the text %j', (value) => {
      expect(isValidValue(value, text)).toBe(true);
    });

    it('refuses a lone surrogate, and text over the length limit', () => {
      expect(isValidValue('\ud800', text)).toBe(false);
      expect(isValidValue('a\udc00b', text)).toBe(false);
      expect(isValidValue('x'.repeat(11), text)).toBe(false);
    });

    it('still refuses non-strings', () => {
      expect(isValidValue(1, text)).toBe(false);
      expect(isValidValue(null, text)).toBe(false);
    });

    it('is off by default: text is not a value', () => {
      expect(DEFAULT_LIMITS.allowTextValues).toBe(false);
      expect(isValidValue('hello', DEFAULT_LIMITS)).toBe(false);
    });
  });
});

describe('isValidRoom', () => {
  it.each(['1', '123456789', 'my-room_v1.2', 'A'.repeat(128)])('accepts %j', (room) => {
    expect(isValidRoom(room, DEFAULT_LIMITS)).toBe(true);
  });

  it.each(['', 'A'.repeat(129), 'a b', 'a/b', 'é', '☁', 'a\n'])('refuses %j', (room) => {
    expect(isValidRoom(room, DEFAULT_LIMITS)).toBe(false);
  });

  it('refuses a non-string room', () => {
    expect(isValidRoom(12, DEFAULT_LIMITS)).toBe(false);
  });
});

describe('isValidVariableName', () => {
  it.each([
    ['☁ a', '☁ a'],
    ['☁ score', '☁ score'],
    ['☁ __proto__', '☁ __proto__'],
    ['1024 chars', '☁ ' + 'x'.repeat(1022)],
  ])('accepts %s', (_label, name) => {
    expect(isValidVariableName(name, DEFAULT_LIMITS)).toBe(true);
  });

  it.each([
    ['☁ ', '☁ '],
    ['☁', '☁'],
    ['score', 'score'],
    ['☁score', '☁score'],
    [' ☁ a', ' ☁ a'],
    ['1025 chars', '☁ ' + 'x'.repeat(1023)],
    ['__proto__', '__proto__'],
    [':cloud: a (scratch dialect only)', ':cloud: a'],
  ])('refuses %s', (_label, name) => {
    expect(isValidVariableName(name, DEFAULT_LIMITS)).toBe(false);
  });
});

describe('checkUsername', () => {
  const blocking: ProtocolLimits = { ...DEFAULT_LIMITS, usernameBlockList: ['Bad', 'evil'] };

  it.each(['abc', 'griffpatch', 'a_b-c', 'x'.repeat(20), 'User123'])('accepts %j', (name) => {
    expect(checkUsername(name, DEFAULT_LIMITS)).toEqual({ ok: true, value: name });
  });

  it.each(['ab', 'x'.repeat(21), 'a b', 'abc!', 'émile', '', 42, null])('refuses %j as username-invalid (4002)', (name) => {
    expect(checkUsername(name, DEFAULT_LIMITS)).toEqual({ ok: false, error: { code: 4002, reason: 'username-invalid' } });
  });

  it('refuses a name containing a block-list entry, case-insensitively (4002)', () => {
    expect(checkUsername('xxBADxx', blocking)).toEqual({ ok: false, error: { code: 4002, reason: 'username-blocked' } });
    expect(checkUsername('EvilOne', blocking)).toEqual({ ok: false, error: { code: 4002, reason: 'username-blocked' } });
    expect(checkUsername('goodname', blocking).ok).toBe(true);
  });

  it('checks the shape before the block list', () => {
    expect(checkUsername('bad!', blocking)).toMatchObject({ error: { reason: 'username-invalid' } });
  });

  it('ignores an empty block-list entry instead of blocking every name', () => {
    expect(checkUsername('anyone', { ...DEFAULT_LIMITS, usernameBlockList: [''] }).ok).toBe(true);
  });
});
