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
 * but one pass with no backtracking: this runs on every set, at up to 1023 chars.
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

export function isValidValue(value: unknown, limits: ProtocolLimits): value is string {
  return typeof value === 'string' && value.length <= limits.maxValueLength && isNumberText(value);
}

/** A lone UTF-16 surrogate: valid in JSON (`"\ud800"`), but no store keeps it intact (Redis turns it into U+FFFD). */
const LONE_SURROGATE = /\p{Surrogate}/u;

export function isValidVariableName(name: unknown, limits: ProtocolLimits): name is string {
  return (
    typeof name === 'string' &&
    name.length > CLOUD_PREFIX.length &&
    name.length <= limits.maxVariableNameLength &&
    name.startsWith(CLOUD_PREFIX) &&
    !LONE_SURROGATE.test(name)
  );
}

export function isValidRoom(room: unknown, limits: ProtocolLimits): room is string {
  return typeof room === 'string' && room.length <= limits.maxRoomLength && ROOM_PATTERN.test(room);
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

/** The username as sent, or why it is refused (close code 4002). */
export function checkUsername(username: unknown, limits: ProtocolLimits): Result<string, ProtocolError> {
  if (
    typeof username !== 'string' ||
    username.length < limits.usernameMinLength ||
    username.length > limits.usernameMaxLength ||
    !USERNAME_PATTERN.test(username)
  ) {
    return Failures.usernameInvalid;
  }
  const lower = username.toLowerCase();
  for (const entry of lowerCased(limits.usernameBlockList)) {
    if (lower.includes(entry)) return Failures.usernameBlocked;
  }
  return { ok: true, value: username };
}
