/**
 * Set values that carry their own send time and sender, so a receiver can measure latency
 * and tell window membership without any shared table.
 *
 * Format: `<sendMicros><sender, 6 digits>`, digits only, so it is a valid cloud value
 * (PROTOCOL.md: numeric strings). sendMicros is `performance.now()` of the *sending process*
 * in whole microseconds; a stamp is therefore decoded only in the process that made it,
 * which holds because every room's clients live in one worker process.
 */

const SENDER_DIGITS = 6;
export const MAX_SENDER = 10 ** SENDER_DIGITS - 1;

export interface Stamp {
  readonly sentUs: number;
  readonly sender: number;
}

export function encodeStamp(sentUs: number, sender: number): string {
  if (!Number.isInteger(sender) || sender < 0 || sender > MAX_SENDER) {
    throw new RangeError(`sender ${sender} outside 0..${MAX_SENDER}`);
  }
  return `${Math.max(0, Math.floor(sentUs))}${String(sender).padStart(SENDER_DIGITS, '0')}`;
}

/** The stamp in a received value, or undefined for values this generator did not make. */
export function decodeStamp(value: string): Stamp | undefined {
  if (value.length <= SENDER_DIGITS || value.length > 22) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const cut = value.length - SENDER_DIGITS;
  return { sentUs: Number(value.slice(0, cut)), sender: Number(value.slice(cut)) };
}

/** Now, in this process's stamp clock (monotonic microseconds). */
export function nowUs(): number {
  return performance.now() * 1000;
}
