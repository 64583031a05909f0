import { describe, expect, it } from 'vitest';
import { checkUsername, DEFAULT_LIMITS, isValidRoom, isValidValue, isValidVariableName } from '../src/index.ts';
import type { ProtocolLimits } from '../src/index.ts';

describe('isValidValue', () => {
  it.each(['0', '1', '-1', '1.5', '1.', '.5', '-.5', '-0.25', '1e+21', '-2.5e-7', '1E5', '007', '1.e3'])(
    'accepts the number %j',
    (value) => {
      expect(isValidValue(value, DEFAULT_LIMITS)).toBe(true);
    },
  );

  it.each(['', '.', '-', '-.', '+1', '1.2.3', '--1', ' 1', '1 ', 'Infinity', '-Infinity', 'NaN', '0x1f', '1e', 'e5', '1e+', '1e1.5', '١'])(
    'refuses %j',
    (value) => {
      expect(isValidValue(value, DEFAULT_LIMITS)).toBe(false);
    },
  );

  it.each([1, null, true, undefined, {}, ['1']])('refuses the non-string %j', (value) => {
    expect(isValidValue(value, DEFAULT_LIMITS)).toBe(false);
  });

  it('accepts 1023 digits and refuses 1024 (values are under 1024 chars)', () => {
    expect(isValidValue('9'.repeat(1023), DEFAULT_LIMITS)).toBe(true);
    expect(isValidValue('9'.repeat(1024), DEFAULT_LIMITS)).toBe(false);
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
  it.each(['☁ a', '☁ score', '☁ __proto__', '☁ ' + 'x'.repeat(510)])('accepts %j', (name) => {
    expect(isValidVariableName(name, DEFAULT_LIMITS)).toBe(true);
  });

  it.each(['☁ ', '☁', 'score', '☁score', ' ☁ a', '☁ ' + 'x'.repeat(511), '__proto__'])('refuses %j', (name) => {
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
