/**
 * The client side of the wire format in every dialect, from @cloudvars/protocol: the
 * generator speaks exactly what the gateway parses, not a copy of it.
 *
 * - seed, legacy (2020 `kind` dialects): the handshake declares the variables; values are strings.
 * - scratch (Scratch 3, TurboWarp, the peer): the handshake declares none, the first set of a
 *   variable creates it. Scratch 3's VM sends a numeric value as a JSON number; with
 *   `values: 'number'` the generator does too (both TurboWarp's server and ours relay it as a
 *   number, a string as a string: parseServerFrame reads both as the same digits).
 */
import {
  encodeClientSet as encodeSet,
  encodeHandshake as encodeJoin,
  parseServerFrame as parseFrame,
  type DialectName,
  type ServerSet,
} from '@cloudvars/protocol';

export type ReceivedSet = ServerSet;

export const DIALECTS: readonly DialectName[] = ['seed', 'legacy', 'scratch'];

/** How set values go on the wire: JSON strings, or (scratch only) JSON numbers. */
export type ValueKind = 'text' | 'number';

export function encodeHandshake(dialect: DialectName, room: string, username: string, variables: Record<string, string>): string {
  return encodeJoin(dialect, room, username, dialect === 'scratch' ? {} : variables);
}

export class WireError extends Error {
  readonly code = 'CV_ERR_LOADGEN_WIRE';
}

/**
 * One set. `number`: the protocol's scratch set with the quotes around the value taken
 * off, so the value must be digits (a stamp) and the message stays the protocol's own.
 */
export function encodeClientSet(dialect: DialectName, variable: string, value: string, kind: ValueKind = 'text'): string {
  const text = encodeSet(dialect, variable, value);
  if (kind === 'text') return text;
  const tail = `"${value}"}`;
  if (dialect !== 'scratch' || !/^[1-9]\d*$/.test(value) || !text.endsWith(tail)) {
    throw new WireError(`a ${dialect} set cannot carry ${JSON.stringify(value)} as a JSON number`);
  }
  return `${text.slice(0, text.length - tail.length)}${value}}`;
}

/** Every set in a server frame (messages separated by '\n'); throws ServerFrameError on anything else. */
export function parseServerFrame(text: string, dialect: DialectName): ServerSet[] {
  return parseFrame(text, dialect);
}
