import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLOUD_PREFIX,
  DEFAULT_LIMITS,
  dialects,
  encodeHandshake,
  encodeSet,
  isNumberText,
  isValidValue,
  joinFrame,
  parseHandshakeFrame,
  parseServerFrame,
  readStoredValue,
  STRING_MARK,
  storedText,
} from '../src/index.ts';
import { parseSingle } from './support.ts';
import type { DialectName, ProtocolError, Result } from '../src/index.ts';

const dialectName = fc.constantFrom<DialectName>('seed', 'legacy');

/** Arbitrary text, plus JSON-shaped text that reaches the deeper checks. */
const anyFrame = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc
    .record(
      {
        kind: fc.oneof(fc.constantFrom('handshake', 'set'), fc.anything()),
        room: fc.oneof(fc.string(), fc.anything()),
        id: fc.oneof(fc.integer(), fc.double(), fc.string()),
        variable: fc.oneof(fc.string(), fc.anything()),
        var: fc.string(),
        value: fc.oneof(fc.string(), fc.anything()),
        username: fc.oneof(fc.string(), fc.anything()),
        variables: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.anything()),
      },
      { requiredKeys: [] },
    )
    .map((record) => JSON.stringify(record)),
);

function codeOf<T>(result: Result<T, ProtocolError>): number | 'ok' {
  return result.ok ? 'ok' : result.error.code;
}

const variableName = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map((rest) => CLOUD_PREFIX + rest);
const validValue = fc.stringMatching(/^-?(?:[0-9]{1,12}(?:\.[0-9]{0,6})?|\.[0-9]{1,6})(?:[eE][+-]?[0-9]{1,3})?$/);

describe('properties', () => {
  it('(a) never throws on any frame, and refuses only with 4000 or 4002', () => {
    fc.assert(
      fc.property(anyFrame, dialectName, (text, name) => {
        expect([4000, 4002, 'ok']).toContain(codeOf(parseHandshakeFrame(text, DEFAULT_LIMITS)));
        // A later frame is never a username problem: only 4000.
        expect([4000, 'ok']).toContain(codeOf(parseSingle(text, dialects[name], DEFAULT_LIMITS)));
      }),
      { numRuns: 2000 },
    );
  });

  it('(b) encodeSet -> parseServerFrame round-trips arbitrary unicode names and stored values (as text, the mark removed)', () => {
    const stored = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'binary' }).map((text) => STRING_MARK + text),
    );
    fc.assert(
      fc.property(dialectName, fc.array(fc.tuple(fc.string({ unit: 'binary' }), stored), { minLength: 1, maxLength: 5 }), (name, sets) => {
        const frame = joinFrame(sets.map(([variable, value]) => encodeSet(dialects[name], variable, value)));
        // As text for every dialect; as received, typed for Scratch 3 clients only (2020: strings).
        expect(parseServerFrame(frame, name)).toEqual(
          sets.map(([variable, value]) => ({
            kind: 'set',
            variable,
            value: storedText(value),
            received: name === 'scratch' ? readStoredValue(value) : storedText(value),
          })),
        );
      }),
    );
  });

  it('(c) encodeHandshake of valid inputs parses back to the same fields, in both dialects', () => {
    fc.assert(
      fc.property(
        dialectName,
        fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/),
        fc.stringMatching(/^[A-Za-z0-9_-]{3,20}$/),
        fc.uniqueArray(fc.tuple(variableName, validValue), { minLength: 1, maxLength: 10, selector: ([n]) => n }),
        (name, room, username, variables) => {
          const result = parseHandshakeFrame(encodeHandshake(name, room, username, variables), DEFAULT_LIMITS);
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.value.dialect.name).toBe(name);
          expect(result.value.handshake).toEqual({ kind: 'handshake', room, username, variables, replaced: [] });
        },
      ),
    );
  });

  it('(d) every finite double, as String() writes it, is a valid value', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        expect(isValidValue(String(n), DEFAULT_LIMITS)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('(d) a string with any character outside [-0-9.eE+] is not a valid value', () => {
    const outside = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => !/^[-0-9.eE+]$/.test(c));
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), outside, fc.string({ maxLength: 10 }), (before, bad, after) => {
        expect(isValidValue(before + bad + after, DEFAULT_LIMITS)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('isNumberText agrees with the value grammar written as a regular expression', () => {
    const grammar = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
    const nearNumbers = fc.string({ unit: fc.constantFrom('-', '+', '.', 'e', 'E', '0', '1', '9', 'x', ' '), maxLength: 12 });
    fc.assert(
      fc.property(fc.oneof(nearNumbers, fc.string(), validValue), (text) => {
        expect(isNumberText(text)).toBe(grammar.test(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('generated valid numbers are valid values and survive a set frame', () => {
    fc.assert(
      fc.property(dialectName, validValue, (name, value) => {
        const frame = `{"kind":"set",${name === 'seed' ? '"variable"' : '"var"'}:"☁ a","value":${JSON.stringify(value)}}`;
        expect(parseSingle(frame, dialects[name], DEFAULT_LIMITS)).toEqual({
          ok: true,
          value: { kind: 'set', variable: '☁ a', value, valid: true },
        });
      }),
    );
  });
});
