import { Failures } from './errors.ts';
import type { ProtocolLimits } from './limits.ts';
import type { ProtocolError, Result } from './messages.ts';

/**
 * A Scratch number as text: optional `-`, digits with at most one `.` (at least one digit
 * in total), optional exponent. The `.` group starts with a literal, so a long digit run
 * that fails backtracks in linear time.
 */
const VALUE_PATTERN = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const ROOM_PATTERN = /^[A-Za-z0-9_.-]+$/;
const USERNAME_PATTERN = /^[A-Za-z0-9_-]+$/;

/** The prefix Scratch gives every cloud variable: U+2601 CLOUD and a space. */
export const CLOUD_PREFIX = '\u2601 ';

export function isValidValue(value: unknown, limits: ProtocolLimits): value is string {
  return typeof value === 'string' && value.length <= limits.maxValueLength && VALUE_PATTERN.test(value);
}

export function isValidVariableName(name: unknown, limits: ProtocolLimits): name is string {
  return (
    typeof name === 'string' &&
    name.length > CLOUD_PREFIX.length &&
    name.length <= limits.maxVariableNameLength &&
    name.startsWith(CLOUD_PREFIX)
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
