/**
 * The room's cloud log, what both engines share: its default length and how a logged name
 * and value are cut. The Redis engine cuts in Lua (prelude.lua `clip_utf8`) by the same rule.
 *
 * The log is bounded on its own, not counted in the room's byte budget: an entry holds at most
 * LOG_NAME_BYTES + LOG_VALUE_BYTES of name and value plus a username, so in Redis about 1.6 KB
 * with the stream's overhead (measured with MEMORY USAGE: 157 KB for a full log of 100 entries
 * of 1,024-character names and longer values, Redis 7.0; test/redis-engine.test.ts).
 */

/** Changes a room's log keeps unless the operator says otherwise (CLOUD_LOG_LENGTH). */
export const DEFAULT_LOG_LENGTH = 100;

/**
 * The log keeps this many bytes of UTF-8 of a value: enough to read any number a project
 * stores (values may be 100,000 characters; a log of full copies would multiply the room's
 * byte budget by its length).
 */
export const LOG_VALUE_BYTES = 1024;

/**
 * The log keeps this many bytes of UTF-8 of a name (a variable's, or a rename's new name):
 * enough to tell variables apart, where names may be 1,024 characters (3 KiB; uncut, they
 * made a log of 100 entries take 546 KB).
 */
export const LOG_NAME_BYTES = 256;

/** `value` cut to at most `maxBytes` bytes of UTF-8, never inside a character. */
export function clipUtf8(value: string, maxBytes: number = LOG_VALUE_BYTES): string {
  // Each UTF-16 unit is at most 3 bytes: a string this short always fits.
  if (value.length * 3 <= maxBytes) return value;
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length <= maxBytes) return value;
  let end = maxBytes;
  // A byte 10xxxxxx continues a character that started before it: cut before that character.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}
