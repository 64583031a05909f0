/**
 * Set values that carry their own send time, sender and per-sender sequence number, so a
 * receiver can measure latency, tell window membership, and see which of a sender's sets
 * it never got (coalesced away, or lost) without any shared table.
 *
 * Format: `<sendMicros><seq, 6 digits><sender, 6 digits>`, digits only, so it is a valid
 * cloud value (PROTOCOL.md: numeric strings). sendMicros is `performance.now()` of the
 * *sending process* in whole microseconds; a stamp is therefore decoded only in the process
 * that made it, which holds because every room's clients live in one worker process.
 */

const FIELD_DIGITS = 6;
export const MAX_SENDER = 10 ** FIELD_DIGITS - 1;
export const MAX_SEQ = 10 ** FIELD_DIGITS - 1;
/** 13 digits of microseconds cover 115 days of process uptime. */
const MAX_LENGTH = 13 + 2 * FIELD_DIGITS;

export interface Stamp {
  readonly sentUs: number;
  readonly seq: number;
  readonly sender: number;
}

function field(n: number, name: string, max: number): string {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`${name} ${n} outside 0..${max}`);
  return String(n).padStart(FIELD_DIGITS, '0');
}

export function encodeStamp(sentUs: number, seq: number, sender: number): string {
  return `${Math.max(0, Math.floor(sentUs))}${field(seq, 'seq', MAX_SEQ)}${field(sender, 'sender', MAX_SENDER)}`;
}

/** The stamp in a received value, or undefined for values this generator did not make. */
export function decodeStamp(value: string): Stamp | undefined {
  if (value.length <= 2 * FIELD_DIGITS || value.length > MAX_LENGTH) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const seqAt = value.length - 2 * FIELD_DIGITS;
  const senderAt = value.length - FIELD_DIGITS;
  return {
    sentUs: Number(value.slice(0, seqAt)),
    seq: Number(value.slice(seqAt, senderAt)),
    sender: Number(value.slice(senderAt)),
  };
}

/**
 * A stamp that fits a JavaScript number exactly, for values sent as JSON numbers (Scratch 3
 * clients send numbers): `<seq + 1><sender, 6 digits>`, at most 12 digits, no leading zero.
 * It carries no time: the receiver reads the send time from the sender's own record
 * (Member.sendTimes), which it can because a room's clients share one process.
 */
export interface CompactStamp {
  readonly sentUs?: undefined;
  readonly seq: number;
  readonly sender: number;
}

export const MAX_COMPACT_SEQ = MAX_SEQ - 1;

export function encodeCompactStamp(seq: number, sender: number): string {
  if (!Number.isInteger(seq) || seq < 0 || seq > MAX_COMPACT_SEQ) throw new RangeError(`seq ${seq} outside 0..${MAX_COMPACT_SEQ}`);
  return `${seq + 1}${field(sender, 'sender', MAX_SENDER)}`;
}

/** The compact stamp in a received value (as digits, however it travelled), or undefined. */
export function decodeCompactStamp(value: string): CompactStamp | undefined {
  if (value.length <= FIELD_DIGITS || value.length > 2 * FIELD_DIGITS || value.charCodeAt(0) === 48) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const senderAt = value.length - FIELD_DIGITS;
  return { seq: Number(value.slice(0, senderAt)) - 1, sender: Number(value.slice(senderAt)) };
}

/** Now, in this process's stamp clock (monotonic microseconds). */
export function nowUs(): number {
  return performance.now() * 1000;
}
