/**
 * The room's cloud log, what both engines share: its default length and how a logged value
 * is cut. The Redis engine cuts in Lua (prelude.lua `clip_utf8`) by the same rule.
 */

/** Changes a room's log keeps unless the operator says otherwise (CLOUD_LOG_LENGTH). */
export const DEFAULT_LOG_LENGTH = 100;

/**
 * The log keeps this many bytes of UTF-8 of a value: enough to read any number a project
 * stores, while a room's log costs at most about length x 1 KiB (values may be 100,000
 * characters; a log of full copies would multiply the room's byte budget by its length).
 */
export const LOG_VALUE_BYTES = 1024;

/**
 * The log keeps this many bytes of UTF-8 of a name (a variable's, or a rename's new name):
 * enough to tell variables apart, where names may be 1,024 characters (3 KiB).
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
