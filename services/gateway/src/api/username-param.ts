/**
 * A username named in an API call (a kick's `user`, a username ban): any name the protocol
 * lets in, as today's clients may have it (1-20 characters of [A-Za-z0-9_-]). Refused (400)
 * otherwise: a kick or ban of another name could match nobody.
 */
import { USERNAME_MAX_LENGTH } from '@cloudvars/protocol';
import { ApiError } from './errors.ts';

const USERNAME = new RegExp(`^[A-Za-z0-9_-]{1,${USERNAME_MAX_LENGTH}}$`);

/** Throws a 400 with `code` (the route's own error code) unless `value` is such a username. */
export function assertApiUsername(value: string, code: string): void {
  if (!USERNAME.test(value)) throw new ApiError(400, code, `a username is 1-${USERNAME_MAX_LENGTH} characters of [A-Za-z0-9_-]`);
}
