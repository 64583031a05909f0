import { randomUUID } from 'node:crypto';
import type { EngineLimits, RoomSnapshot, VariableEntry } from '../ports.ts';
import { LogRing } from './log-ring.ts';

/** One room as the memory store holds it. Maps, never plain objects: `__proto__` is data. */
export interface MemoryRoom {
  epoch: string;
  seq: number;
  variables: Map<string, string>;
  /** Nobody changed it since it was created: it is forgotten after the untouched room ttl. */
  untouched: boolean;
  /** Only 2020 clients wrote to it (ports.ts, JoinRequest.variables): its names are theirs. */
  only2020: boolean;
  /** UTF-8 bytes of every name and value, for the room's byte budget. */
  bytes: number;
  /** The most its size was since a set was first charged for it (stored-bytes.ts chargeOf); null: none was. */
  chargedSize: number | null;
  /** Bytes of its largest log entry so far (stored-bytes.ts logEntryBytes); 0: none. */
  logEntryMax: number;
  /** Connection ids of live leases. */
  readonly members: Set<string>;
  /** Lower-cased username -> connection id, for live leases only. */
  readonly names: Map<string, string>;
  /** Connection ids whose lease lapsed but may still be restored by `renew()`. */
  readonly lapsed: Set<string>;
  /** The room's cloud log; it lives and goes with the room. */
  readonly log: LogRing;
}

/** Usernames are ASCII (PROTOCOL.md), so plain lower-casing is the case-insensitive key. */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

/** What a variable costs against the room's byte budget: its name and value in UTF-8. */
export function entryBytes(name: string, value: string): number {
  return utf8Length(name) + utf8Length(value);
}

/** Text up to this many UTF-16 units is counted in JavaScript: cheaper than Buffer.byteLength's call into C++ (~8 against ~19 ns). */
const COUNTED_HERE = 32;

/**
 * `text`'s length in UTF-8, as Buffer.byteLength counts it: a lone surrogate is written as
 * U+FFFD, 3 bytes. Names and values are mostly short, and a set counts two or three of them.
 */
export function utf8Length(text: string): number {
  if (text.length > COUNTED_HERE) return Buffer.byteLength(text);
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
      continue;
    }
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A pair: 4 bytes for its 2 units.
        bytes += 2;
        i += 1;
        continue;
      }
    }
    bytes += 2;
  }
  return bytes;
}

function bytesOf(variables: ReadonlyMap<string, string>): number {
  let total = 0;
  for (const [name, value] of variables) total += entryBytes(name, value);
  return total;
}

/**
 * Whether a change taking a room from `before` to `after` bytes is refused: one that grows it
 * beyond the budget. One that does not grow it always applies, so a room over it can shrink.
 */
export function growsBeyond(before: number, after: number, maxBytes: number): boolean {
  return after > maxBytes && after > before;
}

/** What a join stores for a 2020 client's initial value that the budget cannot hold (as for an invalid one). */
const DEFAULT_VALUE = '0';

export type AddedNames =
  | { readonly ok: true; readonly entries: readonly VariableEntry[]; readonly bytes: number }
  | { readonly ok: false; readonly reason: 'over-budget' | 'too-many-variables' };

/**
 * The names a join adds to a room that keeps `kept` variables of `keptBytes` (ports.ts,
 * JoinRequest.variables): each takes its declared value while the room stays within the
 * budget, in the declared order, else "0"; refused when they do not fit even with "0", or
 * would take the room over `maxVariables`. `bytes` is the room's total with them. (join.lua
 * `add_names`: the same rule.)
 */
export function addNames(
  added: readonly VariableEntry[],
  kept: number,
  keptBytes: number,
  limits: Pick<EngineLimits, 'maxRoomBytes' | 'maxVariables'>,
): AddedNames {
  if (added.length === 0) return { ok: true, entries: [], bytes: keptBytes };
  if (kept + added.length > limits.maxVariables) return { ok: false, reason: 'too-many-variables' };
  let bytes = keptBytes;
  for (const [name] of added) bytes += entryBytes(name, DEFAULT_VALUE);
  if (bytes > limits.maxRoomBytes) return { ok: false, reason: 'over-budget' };
  const entries = added.map(([name, value]): VariableEntry => {
    const extra = Buffer.byteLength(value) - DEFAULT_VALUE.length;
    if (bytes + extra > limits.maxRoomBytes) return [name, DEFAULT_VALUE];
    bytes += extra;
    return [name, value];
  });
  return { ok: true, entries, bytes };
}

export function createRoom(variables: readonly VariableEntry[], logLength: number, only2020: boolean): MemoryRoom {
  const map = new Map(variables);
  return {
    epoch: randomUUID(),
    seq: 0,
    variables: map,
    untouched: false,
    only2020,
    bytes: bytesOf(map),
    chargedSize: null,
    logEntryMax: 0,
    members: new Set(),
    names: new Map(),
    lapsed: new Set(),
    log: new LogRing(logLength),
  };
}

/** Names compared as sets: order and values do not matter. */
export function sameNames(room: MemoryRoom, variables: readonly VariableEntry[]): boolean {
  const requested = new Set(variables.map(([name]) => name));
  if (requested.size !== room.variables.size) return false;
  for (const name of requested) if (!room.variables.has(name)) return false;
  return true;
}

/** Code point order, which is UTF-8 byte order: the order Redis's Lua sorts names in. */
function byCodePoint(a: string, b: string): number {
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(j) as number;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

/** Variables sorted by name as the Redis engine returns them: one order for every engine. */
export function snapshotOf(room: MemoryRoom): RoomSnapshot {
  const variables = [...room.variables].sort(([a], [b]) => byCodePoint(a, b));
  return { epoch: room.epoch, seq: room.seq, variables };
}

/** A decimal number: optional '-', digits with at most one '.', an optional exponent (set.lua's decimal_number). */
const DECIMAL_NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** `text` as a decimal number, finite as a double; null for anything else (hex, "Infinity", spaces...). */
export function decimalNumber(text: string): number | null {
  if (!DECIMAL_NUMBER.test(text)) return null;
  const number = Number(text);
  return Number.isFinite(number) ? number : null;
}

/**
 * U+0001: the mark a stored string carries when its text reads as a number (the protocol
 * package's STRING_MARK; this package does not depend on it, so it is named again here).
 */
const STRING_MARK = '\u0001';

/**
 * A stored value's number for the "increasing" rule: its text without a string's mark, read
 * as a decimal number. A Scratch 3 client's JSON string "99" scores as its number 99 does,
 * as Scratch itself compares them and as the range rule reads them (set.lua's value_number).
 */
export function valueNumber(stored: string): number | null {
  return decimalNumber(stored.startsWith(STRING_MARK) ? stored.slice(STRING_MARK.length) : stored);
}

/** SetOptions.increasing: `value` is a number above `stored` (any number when nothing, or no number, is stored). */
export function increases(stored: string | undefined, value: string): boolean {
  const number = valueNumber(value);
  if (number === null) return false;
  const before = stored === undefined ? null : valueNumber(stored);
  return before === null || number > before;
}
