/**
 * The protocol's size and shape limits (PROTOCOL.md). Every default is an operator setting:
 * the gateway's config builds a `ProtocolLimits` from the environment.
 */
export interface ProtocolLimits {
  readonly maxRoomLength: number;
  readonly maxVariables: number;
  readonly maxVariableNameLength: number;
  readonly maxValueLength: number;
  readonly usernameMinLength: number;
  readonly usernameMaxLength: number;
  /** Case-insensitive substrings: a username containing any of them is refused with 4002. */
  readonly usernameBlockList: readonly string[];
}

/** Long enough for any project id or slug, short enough to be a cheap Redis key part. */
export const MAX_ROOM_LENGTH = 128;
/** Scratch allows 10 cloud variables per project. */
export const MAX_VARIABLES = 10;
/** Scratch's own variable-name limit is far below this; it bounds a room's key sizes. */
export const MAX_VARIABLE_NAME_LENGTH = 512;
/** PROTOCOL.md: values are "under 1024 chars" (numbers, but encoded as long digit strings). */
export const MAX_VALUE_LENGTH = 1023;
/** Scratch usernames are 3-20 characters. */
export const USERNAME_MIN_LENGTH = 3;
/** Scratch usernames are 3-20 characters. */
export const USERNAME_MAX_LENGTH = 20;
/**
 * Empty by default: which names are unsafe is an operator's policy (set through config),
 * and a built-in list would refuse innocent names by surprise.
 */
export const USERNAME_BLOCK_LIST: readonly string[] = Object.freeze([]);

export const DEFAULT_LIMITS: ProtocolLimits = Object.freeze({
  maxRoomLength: MAX_ROOM_LENGTH,
  maxVariables: MAX_VARIABLES,
  maxVariableNameLength: MAX_VARIABLE_NAME_LENGTH,
  maxValueLength: MAX_VALUE_LENGTH,
  usernameMinLength: USERNAME_MIN_LENGTH,
  usernameMaxLength: USERNAME_MAX_LENGTH,
  usernameBlockList: USERNAME_BLOCK_LIST,
});
