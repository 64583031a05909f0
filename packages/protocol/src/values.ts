import { Failures } from './errors.ts';
import type { ProtocolLimits } from './limits.ts';
import type { ProtocolError, Result } from './messages.ts';

const ROOM_PATTERN = /^[A-Za-z0-9_.-]+$/;
const USERNAME_PATTERN = /^[A-Za-z0-9_-]+$/;

/** The prefix Scratch gives every cloud variable: U+2601 CLOUD and a space. */
export const CLOUD_PREFIX = '\u2601 ';

const MINUS = 45;
const DOT = 46;
const PLUS = 43;
const ZERO = 48;
const NINE = 57;
const LOWER_E = 101;
const UPPER_E = 69;

function isDigit(code: number): boolean {
  return code >= ZERO && code <= NINE;
}

/**
 * A Scratch number as text: optional `-`, digits with at most one `.` (at least one digit
 * in total), optional exponent `e`/`E` with optional sign and digits. Equivalent to
 * /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/ (the tests hold it to that),
 * but one pass with no backtracking: this runs on every set, on values of up to 100,000 characters.
 */
export function isNumberText(text: string): boolean {
  const length = text.length;
  let i = 0;
  if (text.charCodeAt(i) === MINUS) i++;
  let digits = 0;
  while (i < length && isDigit(text.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (text.charCodeAt(i) === DOT) {
    i++;
    while (i < length && isDigit(text.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  const e = text.charCodeAt(i);
  if (e === LOWER_E || e === UPPER_E) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === PLUS || sign === MINUS) i++;
    const exponentStart = i;
    while (i < length && isDigit(text.charCodeAt(i))) i++;
    if (i === exponentStart) return false;
  }
  return i === length;
}

/** A lone UTF-16 surrogate: valid in JSON (`"\ud800"`), but no store keeps it intact (Redis turns it into U+FFFD). */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * A value the room may store: a string of at most `maxValueLength` characters that is a
 * number as text, or, when `allowTextValues`, any such string without a lone surrogate.
 */
export function isValidValue(value: unknown, limits: ProtocolLimits): value is string {
  return typeof value === 'string' && value.length <= limits.maxValueLength && (limits.allowTextValues ? !LONE_SURROGATE.test(value) : isNumberText(value));
}

export function isValidVariableName(name: unknown, limits: ProtocolLimits): name is string {
  return (
    typeof name === 'string' &&
    name.length > CLOUD_PREFIX.length &&
    name.length <= limits.maxVariableNameLength &&
    name.startsWith(CLOUD_PREFIX) &&
    !LONE_SURROGATE.test(name)
  );
}

/**
 * The scratch dialect's variable names: like TurboWarp's server, either prefix (`☁ `, or the
 * ASCII spelling `:cloud: `) followed by at least one character. Kind dialects keep `☁ ` only.
 */
export const SCRATCH_CLOUD_PREFIXES: readonly string[] = Object.freeze([CLOUD_PREFIX, ':cloud: ']);

export function isValidScratchVariableName(name: unknown, limits: ProtocolLimits): name is string {
  if (typeof name !== 'string' || name.length > limits.maxVariableNameLength) return false;
  let prefixed = false;
  for (const prefix of SCRATCH_CLOUD_PREFIXES) {
    if (name.length > prefix.length && name.startsWith(prefix)) prefixed = true;
  }
  return prefixed && !LONE_SURROGATE.test(name);
}

export function isValidRoom(room: unknown, limits: ProtocolLimits): room is string {
  return typeof room === 'string' && room.length <= limits.maxRoomLength && ROOM_PATTERN.test(room);
}

/** Room characters as a lookup by char code (ASCII only): `[A-Za-z0-9_.-]`, ROOM_PATTERN's class. */
const ROOM_CHAR: readonly boolean[] = Array.from({ length: 128 }, (_, code) => /^[A-Za-z0-9_.-]$/.test(String.fromCharCode(code)));
const HEX = '0123456789ABCDEF';

function percentByte(byte: number): string {
  return '%' + HEX.charAt(byte >> 4) + HEX.charAt(byte & 15);
}

/**
 * The room of a scratch-dialect `project_id`, or undefined when it is not a valid one.
 *
 * The rule (PROTOCOL.md, scratch dialect):
 * - `project_id` is a string of 1-`maxProjectIdLength` UTF-16 units, or a number that is a
 *   non-negative safe integer, read as its decimal string (scratchattach sends numbers;
 *   `123` and `"123"` are the same project). Anything else is refused (4000 room-invalid).
 * - Any string is accepted, because today's clients send more than digits: the TurboWarp
 *   Packager's default ids are `p4-@<file name>` and `p4-$<project url>`, users may type any
 *   id, and its `☁ room id` behaviour appends `-<any value>`.
 * - Characters of `[A-Za-z0-9_.-]` (the kind dialects' room pattern) are kept; every other
 *   character becomes its UTF-8 bytes, each written `%XX` (upper-case hex). A lone surrogate
 *   is written as its 3-byte WTF-8 form, so every string has exactly one room id.
 * - The mapping is injective: `%` itself is escaped, so the room id decodes back to exactly
 *   one project id. An id that already fits the pattern maps to itself (a 2020 client with
 *   room `123` and a today's client with project `123` share a room); one that does not
 *   contains `%`, which no kind-dialect room can, so it never collides with a kind room.
 * - A room id is ASCII, at most 9 x `maxProjectIdLength` characters, and never contains `{`
 *   or `}` nor starts with `~` (both are escaped): it is safe inside a Redis hash tag.
 */
export function projectIdToRoom(projectId: unknown, limits: ProtocolLimits): string | undefined {
  let id: string;
  if (typeof projectId === 'string') id = projectId;
  else if (typeof projectId === 'number' && Number.isSafeInteger(projectId) && projectId >= 0) id = String(projectId);
  else return undefined;
  const length = id.length;
  if (length === 0 || length > limits.maxProjectIdLength) return undefined;
  let i = 0;
  while (i < length) {
    const code = id.charCodeAt(i);
    if (code >= 128 || ROOM_CHAR[code] !== true) break;
    i++;
  }
  if (i === length) return id;
  let room = id.slice(0, i);
  for (; i < length; i++) {
    let point = id.charCodeAt(i);
    if (point < 128) {
      room += ROOM_CHAR[point] === true ? id.charAt(i) : percentByte(point);
      continue;
    }
    if (point >= 0xd800 && point <= 0xdbff && i + 1 < length) {
      const low = id.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        point = 0x10000 + ((point - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (point < 0x800) {
      room += percentByte(0xc0 | (point >> 6)) + percentByte(0x80 | (point & 63));
    } else if (point < 0x10000) {
      room += percentByte(0xe0 | (point >> 12)) + percentByte(0x80 | ((point >> 6) & 63)) + percentByte(0x80 | (point & 63));
    } else {
      room +=
        percentByte(0xf0 | (point >> 18)) +
        percentByte(0x80 | ((point >> 12) & 63)) +
        percentByte(0x80 | ((point >> 6) & 63)) +
        percentByte(0x80 | (point & 63));
    }
  }
  return room;
}

/** Lower-cased block lists, computed once per list the config hands us. */
const lowerCaseLists = new WeakMap<readonly string[], readonly string[]>();

function lowerCased(list: readonly string[]): readonly string[] {
  let lower = lowerCaseLists.get(list);
  if (lower === undefined) {
    // An empty entry would block every name; it is a config slip, not a policy.
    lower = list.map((entry) => entry.toLowerCase()).filter((entry) => entry.length > 0);
    lowerCaseLists.set(list, lower);
  }
  return lower;
}

/**
 * The username as sent, or why it is refused (close code 4002). `minLength` is the dialect's
 * shortest name: `usernameMinLength` for the kind dialects, `scratchUsernameMinLength` for scratch.
 */
export function checkUsername(username: unknown, limits: ProtocolLimits, minLength: number = limits.usernameMinLength): Result<string, ProtocolError> {
  if (typeof username !== 'string' || username.length < minLength || username.length > limits.usernameMaxLength || !USERNAME_PATTERN.test(username)) {
    return Failures.usernameInvalid;
  }
  const lower = username.toLowerCase();
  for (const entry of lowerCased(limits.usernameBlockList)) {
    if (lower.includes(entry)) return Failures.usernameBlocked;
  }
  return { ok: true, value: username };
}
