/*
 * How a room stores a value so that its JSON type survives (docs/PROTOCOL.md, "Value types").
 *
 * The store keeps text (Redis hashes, the log, the byte budget all count text), so the type
 * lives in the text:
 * - a number is stored as its decimal text, as JavaScript writes it (`12`, `-0.5`, `1e+21`):
 *   its *writing*, the one text `String(n)` gives;
 * - a string is stored as it is, unless it is a number's writing (`"12"`, `"1e+21"`, not
 *   `"012"` or `"1e3"`) or starts with the mark itself: then the mark U+0001 goes in front.
 *
 * Reading: a mark in front means a string (the rest of the text); otherwise a number's
 * writing is that number and anything else a string. Text is never rewritten: whatever
 * type a reader gets, `String()` of it is the text stored. So every room stored by an
 * earlier version (all text, none marked) reads back as the text it was, and a 2020
 * client's value (its spec's strings of number text) is stored exactly as before: `5` reads
 * as the number 5 for today's clients, `005` stays the string it was sent as.
 */

/** The stored value: `string | number`, as a Scratch 3 client sends and receives it. */
export type CloudValue = string | number;

/**
 * U+0001, in front of a stored string that would otherwise read as a number. A control
 * character no project types: Scratch's editor and the TurboWarp Packager never produce it.
 */
export const STRING_MARK = '\u0001';

/** No double's writing is longer (`-2.2250738585072014e-308` is 24): longer text is not read as one. */
const MAX_NUMBER_WRITING = 32;

/** Whether `text` is the writing of a finite number: exactly what `String(n)` gives for it. */
export function isNumberWriting(text: string): boolean {
  if (text.length === 0 || text.length > MAX_NUMBER_WRITING) return false;
  const number = Number(text);
  return Number.isFinite(number) && String(number) === text;
}

/** Whether a string needs the mark to read back as a string. */
function needsMark(text: string): boolean {
  return text.startsWith(STRING_MARK) || isNumberWriting(text);
}

/**
 * A Scratch 3 client's value as stored. A number must be finite (the dialect refuses the
 * others): `-0` is stored as `0`, as JSON writes it and TurboWarp's server relays it.
 */
export function storeValue(value: CloudValue): string {
  if (typeof value === 'number') return String(value);
  return needsMark(value) ? STRING_MARK + value : value;
}

/**
 * A 2020 client's value as stored: text whose type the protocol does not say (its spec sends
 * numbers as strings), kept as sent. A number's writing (`5`) reads as a number for Scratch
 * 3 clients, other text (`005`, `1e3`) as the string it is; only text that starts with the
 * mark gets another in front, so it reads back unchanged.
 */
export function storeText(text: string): string {
  return text.startsWith(STRING_MARK) ? STRING_MARK + text : text;
}

/**
 * A stored value as a Scratch 3 client receives it: a number where the text is a number's
 * writing, else a string, so `String()` of it is always the text a 2020 client receives.
 */
export function readStoredValue(stored: string): CloudValue {
  if (stored.startsWith(STRING_MARK)) return stored.slice(STRING_MARK.length);
  return isNumberWriting(stored) ? Number(stored) : stored;
}

/** A stored value as text: what a 2020 client receives, the mark removed and a number's text as stored. */
export function storedText(stored: string): string {
  return stored.startsWith(STRING_MARK) ? stored.slice(STRING_MARK.length) : stored;
}

/**
 * A stored value as JSON text for a Scratch 3 client: a number as a JSON number (its writing,
 * the stored text itself: JavaScript's writing of a finite double is valid JSON), a string
 * by `writeString`.
 */
export function storedValueJson(stored: string, writeString: (text: string) => string): string {
  if (stored.startsWith(STRING_MARK)) return writeString(stored.slice(STRING_MARK.length));
  return isNumberWriting(stored) ? stored : writeString(stored);
}

/** A room's stored variables as an object of typed values (the API's and the live page's JSON). */
export function typedVariables(variables: Iterable<readonly [name: string, stored: string]>): Record<string, CloudValue> {
  const typed: Record<string, CloudValue> = {};
  // defineProperty, not assignment: a variable named `__proto__` stays plain data.
  for (const [name, stored] of variables)
    Object.defineProperty(typed, name, { value: readStoredValue(stored), enumerable: true, writable: true, configurable: true });
  return typed;
}
