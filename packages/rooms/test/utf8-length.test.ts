import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Length } from '../src/memory/rooms.ts';

describe('utf8Length: the memory store counts bytes as Buffer.byteLength does', () => {
  it('counts ASCII, 2-, 3- and 4-byte characters and lone surrogates (written as U+FFFD) alike', () => {
    for (const text of [
      '',
      'a',
      '☁ score',
      'é',
      '€',
      '😀',
      '😀x',
      '\ud800',
      '\udc00',
      'a\ud800',
      '\ud800a',
      '\ud800\ud800\udc00',
      '\udbff\udfff',
      'x'.repeat(33),
    ]) {
      expect(utf8Length(text), JSON.stringify(text)).toBe(Buffer.byteLength(text));
    }
  });

  it('agrees with Buffer.byteLength on any text, short or long', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => utf8Length(text) === Buffer.byteLength(text)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((unit) => String.fromCharCode(unit)), maxLength: 40 }),
        (text) => utf8Length(text) === Buffer.byteLength(text),
      ),
    );
  });
});
