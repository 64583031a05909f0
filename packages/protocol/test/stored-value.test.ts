import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STRING_MARK, isNumberWriting, readStoredValue, storeText, storeValue, storedText, storedValueJson } from '../src/index.ts';

const numberText = fc.stringMatching(/^-?(?:[0-9]{1,25}(?:\.[0-9]{0,8})?|\.[0-9]{1,8})(?:[eE][+-]?[0-9]{1,3})?$/);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
/** Strings of every shape: number text, text that starts with the mark, any unicode. */
const anyString = fc.oneof(
  numberText,
  fc.string({ unit: 'grapheme' }),
  fc.string().map((s) => STRING_MARK + s),
  fc.constantFrom('', ' ', ' 1', '1 ', 'NaN', 'Infinity', '-Infinity', '0x10', '1e400'),
);
/** What earlier versions stored: any text, never starting with the mark (they never wrote one). */
const legacyText = anyString.filter((text) => !text.startsWith(STRING_MARK));

describe('the stored-value codec', () => {
  it.each([
    [12, '12'],
    [-0.5, '-0.5'],
    [0, '0'],
    [-0, '0'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [2 ** 53 + 2, '9007199254740994'],
    [Number.MAX_VALUE, '1.7976931348623157e+308'],
  ])('stores the number %s as its decimal text %j', (value, stored) => {
    expect(storeValue(value)).toBe(stored);
  });

  it.each([
    ['12', '\u000112'],
    ['-2.5', '\u0001-2.5'],
    ['0', '\u00010'],
    ['1e+21', '\u00011e+21'],
    [`${STRING_MARK}x`, `${STRING_MARK}${STRING_MARK}x`],
  ])("marks the string %j, a number's writing (or marked already), as %j", (value, stored) => {
    expect(storeValue(value)).toBe(stored);
  });

  it.each(['', ' ', ' 1', '1 ', 'hello', 'NaN', 'Infinity', '-', '.', '1e', '0x10', '1,5', '-0', '1e3', '.5', '007', '1.50', '1e400', '12345678901234567890'])(
    'stores the string %j as it is: no number is written so',
    (value) => {
      expect(storeValue(value)).toBe(value);
      expect(readStoredValue(value)).toBe(value);
    },
  );

  it.each([
    ['12', 12],
    ['-0.5', -0.5],
    ['1e+21', 1e21],
    ['5e-324', 5e-324],
    ['9007199254740993', '9007199254740993'],
  ])("reads the unmarked text %j as %j: a number only where it is that number's writing", (stored, value) => {
    expect(readStoredValue(stored)).toBe(value);
  });

  it('writes a number as a JSON number and a string as a JSON string', () => {
    expect(storedValueJson('12', JSON.stringify)).toBe('12');
    expect(storedValueJson('1e+21', JSON.stringify)).toBe('1e+21');
    expect(storedValueJson('-0', JSON.stringify)).toBe('"-0"');
    expect(storedValueJson('1e400', JSON.stringify)).toBe('"1e400"');
    expect(storedValueJson('007', JSON.stringify)).toBe('"007"');
    expect(storedValueJson('\u000112', JSON.stringify)).toBe('"12"');
    expect(storedValueJson('', JSON.stringify)).toBe('""');
    expect(storedValueJson('hi', JSON.stringify)).toBe('"hi"');
  });

  it("tells a number's writing from other number text", () => {
    fc.assert(
      fc.property(finite, (value) => {
        expect(isNumberWriting(String(value))).toBe(true);
      }),
    );
    for (const text of ['-0', '1e3', '007', '.5', '1.', '1E21', '+1', '1e400', 'Infinity', 'NaN', '']) expect(isNumberWriting(text)).toBe(false);
  });

  it("keeps a 2020 client's text as sent, marking only text that starts with the mark", () => {
    expect(storeText('12')).toBe('12');
    expect(storeText('1e3')).toBe('1e3');
    expect(storeText('hello')).toBe('hello');
    expect(storeText(`${STRING_MARK}12`)).toBe(`${STRING_MARK}${STRING_MARK}12`);
    expect(storedText(storeText(`${STRING_MARK}12`))).toBe(`${STRING_MARK}12`);
  });

  it('round-trips every finite number (as JSON does: -0 reads back as 0)', () => {
    fc.assert(
      fc.property(finite, (value) => {
        const back = readStoredValue(storeValue(value));
        expect(typeof back).toBe('number');
        expect(back).toBe(value === 0 ? 0 : value);
      }),
    );
  });

  it('round-trips every string as a string, and a 2020 client reads it unchanged', () => {
    fc.assert(
      fc.property(anyString, (value) => {
        const stored = storeValue(value);
        expect(readStoredValue(stored)).toBe(value);
        expect(storedText(stored)).toBe(value);
      }),
    );
  });

  it('gives a 2020 client back exactly the text it stored, whatever it is', () => {
    fc.assert(
      fc.property(anyString, (text) => {
        expect(storedText(storeText(text))).toBe(text);
      }),
    );
  });

  it('reads a room stored by an earlier version as the text it was: a number only where the text is its writing', () => {
    fc.assert(
      fc.property(legacyText, (stored) => {
        expect(storedText(stored)).toBe(stored);
        expect(storeText(stored)).toBe(stored);
        const value = readStoredValue(stored);
        expect(String(value)).toBe(stored);
        expect(typeof value === 'number').toBe(isNumberWriting(stored));
        expect(JSON.parse(storedValueJson(stored, JSON.stringify))).toBe(value);
      }),
    );
  });

  it("gives every reader the same text: a Scratch 3 client's value as text is what a 2020 client receives", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyString,
          finite.map((n) => String(n)),
        ),
        (stored) => {
          expect(String(readStoredValue(stored))).toBe(storedText(stored));
        },
      ),
    );
  });

  it('writes JSON that parses back to the value a Scratch 3 client sent', () => {
    fc.assert(
      fc.property(fc.oneof(finite, anyString), (value) => {
        const parsed: unknown = JSON.parse(storedValueJson(storeValue(value), JSON.stringify));
        expect(parsed).toBe(value === 0 ? 0 : value);
      }),
    );
  });
});
