import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, dialects } from '../src/index.ts';
import { parseSingle } from './support.ts';
import type { ClientMessage, DialectName, ProtocolError, Result } from '../src/index.ts';

const { seed, legacy } = dialects;

function parsed(result: Result<ClientMessage, ProtocolError>): ClientMessage {
  if (!result.ok) throw new Error(`expected a message, got ${JSON.stringify(result.error)}`);
  return result.value;
}

function refusal(result: Result<ClientMessage, ProtocolError>): ProtocolError {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result.error;
}

describe('parseFrame: set', () => {
  it.each<[DialectName, string]>([
    ['seed', '{"kind":"set","variable":"☁ a","value":"12.5"}'],
    ['legacy', '{"kind":"set","var":"☁ a","value":"12.5"}'],
  ])('parses a valid %s set', (name, text) => {
    expect(parsed(parseSingle(text, dialects[name], DEFAULT_LIMITS))).toEqual({
      kind: 'set',
      variable: '☁ a',
      value: '12.5',
      valid: true,
    });
  });

  it("does not name-check the variable: whether it exists is the room's business", () => {
    expect(parsed(parseSingle('{"kind":"set","variable":"whatever","value":"1"}', seed))).toMatchObject({ valid: true });
  });

  it("refuses a seed set that uses legacy's `var` (4000 variable-missing)", () => {
    expect(refusal(parseSingle('{"kind":"set","var":"☁ a","value":"1"}', seed))).toEqual({ code: 4000, reason: 'variable-missing' });
  });

  it("refuses a legacy set that uses the seed's `variable` (4000 variable-missing)", () => {
    expect(refusal(parseSingle('{"kind":"set","variable":"☁ a","value":"1"}', legacy))).toEqual({
      code: 4000,
      reason: 'variable-missing',
    });
  });

  it.each(['1', 'null', '["☁ a"]', '{"name":"☁ a"}'])('refuses a variable field of %s (4000 variable-missing)', (v) => {
    expect(refusal(parseSingle(`{"kind":"set","variable":${v},"value":"1"}`, seed)).reason).toBe('variable-missing');
  });

  it('refuses a set without value (4000 value-missing)', () => {
    expect(refusal(parseSingle('{"kind":"set","variable":"☁ a"}', seed))).toEqual({ code: 4000, reason: 'value-missing' });
  });

  it('checks the variable before the value', () => {
    expect(refusal(parseSingle('{"kind":"set"}', seed)).reason).toBe('variable-missing');
  });

  it.each([
    ['"hello"', '"hello"'],
    ['""', '""'],
    ['"1e"', '"1e"'],
    ['1', '1'],
    ['null', 'null'],
    ['true', 'true'],
    ['{}', '{}'],
    ['["1"]', '["1"]'],
    ['100,001 digits', `"${'9'.repeat(100_001)}"`],
  ])('marks a value of %s invalid so the gateway ignores it silently', (_label, v) => {
    expect(parsed(parseSingle(`{"kind":"set","variable":"☁ a","value":${v}}`, seed))).toMatchObject({
      kind: 'set',
      variable: '☁ a',
      valid: false,
    });
  });

  it('keeps an invalid string value as sent, and gives "" for a non-string', () => {
    expect(parsed(parseSingle('{"kind":"set","variable":"☁ a","value":"abc"}', seed))).toMatchObject({ value: 'abc' });
    expect(parsed(parseSingle('{"kind":"set","variable":"☁ a","value":5}', seed))).toMatchObject({ value: '' });
  });

  it('ignores additional properties', () => {
    expect(parsed(parseSingle('{"kind":"set","variable":"☁ a","value":"1","room":"x","extra":{}}', seed))).toMatchObject({
      valid: true,
    });
  });

  it('does not read `value` through a `__proto__` key', () => {
    expect(refusal(parseSingle('{"kind":"set","variable":"☁ a","__proto__":{"value":"1"}}', seed)).reason).toBe('value-missing');
  });

  it('reads no field inherited from a polluted Object.prototype', () => {
    // Not `value`: an inherited `value` breaks every Object.defineProperty in the process.
    const proto = Object.prototype as Record<string, unknown>;
    proto['variable'] = '☁ a';
    proto['kind'] = 'set';
    try {
      expect(refusal(parseSingle('{"kind":"set","value":"1"}', seed)).reason).toBe('variable-missing');
      expect(refusal(parseSingle('{"variable":"☁ a","value":"1"}', seed)).reason).toBe('missing-kind');
    } finally {
      delete proto['variable'];
      delete proto['kind'];
    }
  });

  it('takes a `__proto__` variable name as data', () => {
    expect(parsed(parseSingle('{"kind":"set","variable":"__proto__","value":"1"}', seed))).toMatchObject({
      variable: '__proto__',
    });
  });
});

describe('parseFrame: other frames', () => {
  it.each([
    ['not JSON', 'nope', 'invalid-json'],
    ['a JSON array', '[]', 'not-an-object'],
    ['a JSON primitive', 'true', 'not-an-object'],
    ['missing kind', '{"variable":"☁ a","value":"1"}', 'missing-kind'],
    ['a non-string kind', '{"kind":null,"variable":"☁ a","value":"1"}', 'missing-kind'],
    ['an unknown kind', '{"kind":"get","variable":"☁ a"}', 'unknown-kind'],
    ['a kind differing in case', '{"kind":"SET","variable":"☁ a","value":"1"}', 'unknown-kind'],
  ])('closes with 4000 on %s', (_label, text, reason) => {
    expect(refusal(parseSingle(text, seed))).toEqual({ code: 4000, reason });
  });

  it('parses a repeated valid handshake as a Handshake (the gateway closes 4000: not the first)', () => {
    const text = '{"kind":"handshake","room":"r","username":"alice","variables":{"☁ a":"1"}}';
    expect(parsed(parseSingle(text, seed))).toMatchObject({ kind: 'handshake', room: 'r' });
  });

  it('closes a repeated handshake with 4000 even when its username alone is wrong', () => {
    const text = '{"kind":"handshake","room":"r","username":"x","variables":{"☁ a":"1"}}';
    expect(refusal(parseSingle(text, seed))).toEqual({ code: 4000, reason: 'handshake-repeated' });
  });

  it("parses a repeated handshake in the connection's dialect", () => {
    const text = '{"kind":"handshake","id":7,"username":"alice","variables":{"☁ a":"1"}}';
    expect(parsed(parseSingle(text, legacy))).toMatchObject({ kind: 'handshake', room: '7' });
    expect(refusal(parseSingle(text, seed)).reason).toBe('room-invalid');
  });
});
