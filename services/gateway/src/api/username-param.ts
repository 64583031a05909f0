/**
 * A username named in an API call (a kick's `user`, a username ban): any name the protocol
 * lets in, as today's clients may have it (checkUsername with the Scratch dialect's shortest
 * name: 1-20 characters of [A-Za-z0-9_-]). Refused (400) otherwise: a kick or ban of another
 * name could match nobody.
 */
import { checkUsername, DEFAULT_LIMITS, USERNAME_MAX_LENGTH } from '@cloudvars/protocol';
import { ApiError } from './errors.ts';

/** Throws a 400 with `code` (the route's own error code) unless `value` is such a username. */
export function assertApiUsername(value: string, code: string): void {
  if (!checkUsername(value, DEFAULT_LIMITS, DEFAULT_LIMITS.scratchUsernameMinLength).ok) {
    throw new ApiError(400, code, `a username is ${DEFAULT_LIMITS.scratchUsernameMinLength}-${USERNAME_MAX_LENGTH} characters of [A-Za-z0-9_-]`);
  }
}
