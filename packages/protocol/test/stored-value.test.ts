import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STRING_MARK, isNumberText, readStoredValue, storeText, storeValue, storedText, storedValueJson } from '../src/index.ts';

const numberText = fc.stringMatching(/^-?(?:[0-9]{1,25}(?:\.[0-9]{0,8})?|\.[0-9]{1,8})(?:[eE][+-]?[0-9]{1,3})?$/);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
/** Strings of every shape: number text, text that starts with the mark, any unicode. */
const anyString = fc.oneof(numberText, fc.string({ unit: 'grapheme' }), fc.string().map((s) => STRING_MARK + s), fc.constantFrom('', ' ', ' 1', '1 ', 'NaN', 'Infinity', '-Infinity', '0x10', '1e400'));
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
    ['-0', '\u0001-0'],
    ['1e3', '\u00011e3'],
    ['.5', '\u0001.5'],
    ['007', '\u0001007'],
    ['1e400', '\u00011e400'],
    [`${STRING_MARK}x`, `${STRING_MARK}${STRING_MARK}x`],
  ])('marks the string %j, which would read back otherwise, as %j', (value, stored) => {
    expect(storeValue(value)).toBe(stored);
  });

  it.each(['', ' ', ' 1', '1 ', 'hello', 'NaN', 'Infinity', '-', '.', '1e', '0x10', '1,5'])('stores the string %j as it is', (value) => {
    expect(storeValue(value)).toBe(value);
  });

  it.each([
    ['12', 12],
    ['-0', -0],
    ['007', 7],
    ['1.', 1],
    ['1e3', 1000],
    ['12345678901234567890', 12345678901234567000],
  ])('reads the unmarked number text %j as the number %s', (stored, value) => {
    expect(readStoredValue(stored)).toBe(value);
  });

  it('reads number text beyond a double (1e400) as a string: JSON has no Infinity', () => {
    expect(readStoredValue('1e400')).toBe('1e400');
    expect(storedValueJson('1e400', JSON.stringify)).toBe('"1e400"');
    expect(storedValueJson('-1e400', JSON.stringify)).toBe('"-1e400"');
  });

  it('writes a number as a JSON number and a string as a JSON string', () => {
    expect(storedValueJson('12', JSON.stringify)).toBe('12');
    expect(storedValueJson('-0', JSON.stringify)).toBe('0');
    expect(storedValueJson('1e21', JSON.stringify)).toBe('1e+21');
    expect(storedValueJson('\u000112', JSON.stringify)).toBe('"12"');
    expect(storedValueJson('', JSON.stringify)).toBe('""');
    expect(storedValueJson('hi', JSON.stringify)).toBe('"hi"');
  });

  it('keeps a 2020 client\'s text as sent, marking only text that starts with the mark', () => {
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

  it('reads a room stored by an earlier version as it was written: the same text, a number where it is number text', () => {
    fc.assert(
      fc.property(legacyText, (stored) => {
        expect(storedText(stored)).toBe(stored);
        expect(storeText(stored)).toBe(stored);
        const value = readStoredValue(stored);
        if (typeof value === 'number') {
          expect(isNumberText(stored)).toBe(true);
          expect(value).toBe(Number(stored));
        } else {
          expect(value).toBe(stored);
        }
      }),
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
