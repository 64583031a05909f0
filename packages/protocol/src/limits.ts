/**
 * The protocol's size and shape limits (PROTOCOL.md). Every default is an operator setting:
 * the gateway's config builds a `ProtocolLimits` from the environment.
 */
export interface ProtocolLimits {
  /** Kind dialects: the longest `room` / `id`. */
  readonly maxRoomLength: number;
  /** Scratch dialect: the longest `project_id`, in UTF-16 code units as sent (before mapping to a room id). */
  readonly maxProjectIdLength: number;
  readonly maxVariables: number;
  readonly maxVariableNameLength: number;
  readonly maxValueLength: number;
  /**
   * False (default): a value must be a number written as text (`isNumberText`), as Scratch's
   * cloud requires. True: any string up to `maxValueLength` without lone surrogates. Every dialect.
   */
  readonly allowTextValues: boolean;
  /** Kind dialects' shortest username. */
  readonly usernameMinLength: number;
  /** Scratch dialect's shortest username (today's clients and TurboWarp's server accept 1). */
  readonly scratchUsernameMinLength: number;
  /** Every dialect's longest username. */
  readonly usernameMaxLength: number;
  /** Case-insensitive substrings: a username containing any of them is refused with 4002. */
  readonly usernameBlockList: readonly string[];
}

/** Long enough for any project id or slug, short enough to be a cheap Redis key part. */
export const MAX_ROOM_LENGTH = 128;
/**
 * TurboWarp's server accepts project ids of 1-999 characters, and the Packager sends long
 * ones (`p4-@<file name>`, `p4-$<url>`, custom text). A room id is at most 9 times this long
 * (each UTF-16 unit escapes to at most 3 UTF-8 bytes, `%XX` each; see `projectIdToRoom`).
 */
export const MAX_PROJECT_ID_LENGTH = 999;
/**
 * Variables a room may hold, the gateway's default (MAX_VARIABLES): Scratch allows 10 cloud
 * variables per project, TurboWarp's projects more, and a bot validating with these limits
 * must accept what the server does.
 */
export const MAX_VARIABLES = 128;
/**
 * TurboWarp's server accepts names up to 1024 characters (prefix included) and no editor caps
 * a cloud variable's name; a longer limit here than there would close (4000) a project that
 * works on TurboWarp, and its client would reconnect forever.
 */
export const MAX_VARIABLE_NAME_LENGTH = 1024;
/**
 * TurboWarp's server accepts values up to 100,000 characters and existing projects rely on it
 * (Scratch's own server: 256). Memory per room is bounded by the gateway, not by this alone.
 */
export const MAX_VALUE_LENGTH = 100_000;
/** Cloud values are numbers unless the operator opts in to text. */
export const ALLOW_TEXT_VALUES = false;
/** Scratch usernames are 3-20 characters. */
export const USERNAME_MIN_LENGTH = 3;
/** TurboWarp's server and today's clients: 1-20 characters (`player1234`, or any name a user types). */
export const SCRATCH_USERNAME_MIN_LENGTH = 1;
/** Scratch usernames are 3-20 characters. */
export const USERNAME_MAX_LENGTH = 20;
/**
 * Empty by default: which names are unsafe is an operator's policy (set through config),
 * and a built-in list would refuse innocent names by surprise.
 */
export const USERNAME_BLOCK_LIST: readonly string[] = Object.freeze([]);

export const DEFAULT_LIMITS: ProtocolLimits = Object.freeze({
  maxRoomLength: MAX_ROOM_LENGTH,
  maxProjectIdLength: MAX_PROJECT_ID_LENGTH,
  maxVariables: MAX_VARIABLES,
  maxVariableNameLength: MAX_VARIABLE_NAME_LENGTH,
  maxValueLength: MAX_VALUE_LENGTH,
  allowTextValues: ALLOW_TEXT_VALUES,
  usernameMinLength: USERNAME_MIN_LENGTH,
  scratchUsernameMinLength: SCRATCH_USERNAME_MIN_LENGTH,
  usernameMaxLength: USERNAME_MAX_LENGTH,
  usernameBlockList: USERNAME_BLOCK_LIST,
});
