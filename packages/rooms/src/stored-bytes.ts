/**
 * What one address can make the store hold: each address has a ledger of the bytes its sets
 * grew rooms by, and a set from an address at `maxStoredBytesPerAddress` that would grow a
 * room further is refused (`address-bytes`). README "What one address can make Redis hold"
 * states the bound this gives.
 *
 * - A room's *size* is what the store holds for it: its names and values, ROOM_BASE_BYTES,
 *   and its cloud log counted as full of its largest entry so far (log length x (clipped
 *   name + clipped value + LOG_ENTRY_BASE_BYTES)), since a log of 100 entries of 1 KiB can
 *   hold far more than a room of small values. Its *charged size* is the most its size was
 *   since a set was first charged for it: a set is charged only for what it raises that
 *   high-water mark by. A value that shrinks and grows back, a counter going from 9 to 10, a
 *   set that replaces a value by one as long: nothing. So a project played for months costs
 *   its pupil's address what its room holds at most, once.
 * - The ledger keeps, per (address, room), the bytes charged and when the entry lapses:
 *   `roomTtlMs` after its latest charge, or its latest leave or lease renewal in that room
 *   by a connection of the address (Redis: renewals touch it once an hour), which is no
 *   earlier than the room itself can be forgotten for what that address did (a room is
 *   forgotten `roomTtlMs` after its last member left). Staying in a room, or rejoining it to
 *   keep it alive, keeps it in the ledger; only other addresses' members keep a room alive
 *   past its entry.
 * - What a 2020 join stores (a creation's initial values, a migration's or an extension's
 *   names) is charged the same way, and refused (JoinRefusal `address-bytes`) at the bound;
 *   so is a rename that lengthens a name.
 * - The limit falls on growth only: a join that stores nothing (every join of today's
 *   clients), or a set that does not raise a charged size, is never refused by it. A set that takes the ledger over the limit still applies (the
 *   check is "at the limit already"): the overshoot is one set's growth per writer in flight.
 * Memory: this class, exact. Redis: lua/ledger.lua keeps the same entries on the address's
 * own slot, charged after the room's script answered (redis/stored-bytes.ts).
 */

/**
 * What a room costs the store besides its names and values (README: "a room is about 580
 * bytes"), charged with its first charged set: without it an address could make millions
 * of rooms each grown by one byte.
 */
export const ROOM_BASE_BYTES = 580;

/** Ledger entries pruned per call, so a call's work stays small however many lapsed at once. */
export const LEDGER_PRUNE_PER_CALL = 100;

/** What a log entry costs the store besides its name and value (stream id, field names, user, time). */
export const LOG_ENTRY_BASE_BYTES = 100;

/** A room's size (module comment): `bytes` of names and values, its log counted full of entries of `logEntryMax` bytes. */
export function roomSize(bytes: number, logEntryMax: number, logLength: number): number {
  return bytes + logLength * logEntryMax + ROOM_BASE_BYTES;
}

/** What a set's log entry counts for `logEntryMax` (clipped as the log clips it: an upper bound of its bytes). */
export function logEntryBytes(name: string, value: string, nameBytes: number, valueBytes: number): number {
  return logEntryBytesOf(Buffer.byteLength(name), Buffer.byteLength(value), nameBytes, valueBytes);
}

/** logEntryBytes for a caller that knows the name's and value's UTF-8 lengths already: the same cut, no second count. */
export function logEntryBytesOf(nameLength: number, valueLength: number, nameBytes: number, valueBytes: number): number {
  return Math.min(nameLength, nameBytes) + Math.min(valueLength, valueBytes) + LOG_ENTRY_BASE_BYTES;
}

/**
 * What a set that takes a room from size `before` to `after` (roomSize) is charged, given the
 * room's charged size (null: no set was charged for it yet), and the charged size after it.
 * A room's first charge adds ROOM_BASE_BYTES: what it held before was stored by joins or
 * operators, uncharged. set.lua: the same rule.
 */
export function chargeOf(before: number, after: number, chargedSize: number | null): { readonly charge: number; readonly chargedSize: number | null } {
  if (after <= before) return { charge: 0, chargedSize };
  const raised = after - (chargedSize ?? before);
  if (raised <= 0) return { charge: 0, chargedSize };
  return { charge: raised + (chargedSize === null ? ROOM_BASE_BYTES : 0), chargedSize: after };
}

interface LedgerEntry {
  bytes: number;
  lapsesAt: number;
}

/** One address's entries, oldest lapse first (every update moves its entry to the end). */
interface AddressLedger {
  readonly entries: Map<string, LedgerEntry>;
  total: number;
  /** The latest lapse of its entries: the whole ledger is gone then. */
  lapsesAt: number;
}

/**
 * Per-address ledgers of charged bytes (see the module comment); `windowMs` 0: entries never
 * lapse. Addresses are kept in the order of their latest update, so the ledgers of addresses
 * that never come back are dropped from the front once lapsed, a few at each update.
 */
export class StoredBytesLedger {
  private readonly addresses = new Map<string, AddressLedger>();

  constructor(private readonly windowMs: () => number) {}

  /** Bytes the address's live entries hold. */
  total(address: string, now: number): number {
    const ledger = this.addresses.get(address);
    if (ledger === undefined) return 0;
    this.prune(address, ledger, now);
    return ledger.total;
  }

  /** Adds `bytes` to the address's entry for the room and restarts its window. */
  charge(address: string, room: string, bytes: number, now: number): number {
    const ledger = this.addresses.get(address) ?? { entries: new Map(), total: 0, lapsesAt: 0 };
    this.prune(address, ledger, now);
    const entry = ledger.entries.get(room) ?? { bytes: 0, lapsesAt: 0 };
    entry.bytes += bytes;
    entry.lapsesAt = this.lapse(now);
    ledger.entries.delete(room);
    ledger.entries.set(room, entry);
    ledger.total += bytes;
    this.updated(address, ledger, entry.lapsesAt, now);
    return ledger.total;
  }

  /** A connection of the address left the room or renewed its lease there: its entry (if any) restarts its window, as the room's own ttl does. */
  touch(address: string, room: string, now: number): void {
    const ledger = this.addresses.get(address);
    const entry = ledger?.entries.get(room);
    if (ledger === undefined || entry === undefined) return;
    entry.lapsesAt = this.lapse(now);
    ledger.entries.delete(room);
    ledger.entries.set(room, entry);
    this.updated(address, ledger, entry.lapsesAt, now);
  }

  /** Moves the address to the end of the update order, then drops lapsed ledgers from the front. */
  private updated(address: string, ledger: AddressLedger, lapsesAt: number, now: number): void {
    ledger.lapsesAt = lapsesAt;
    this.addresses.delete(address);
    this.addresses.set(address, ledger);
    let dropped = 0;
    for (const [oldest, kept] of this.addresses) {
      if (kept.lapsesAt > now || dropped >= LEDGER_PRUNE_PER_CALL) break;
      this.addresses.delete(oldest);
      dropped += 1;
    }
  }

  private lapse(now: number): number {
    const window = this.windowMs();
    return window === 0 ? Infinity : now + window;
  }

  private prune(address: string, ledger: AddressLedger, now: number): void {
    let pruned = 0;
    for (const [room, entry] of ledger.entries) {
      if (entry.lapsesAt > now || pruned >= LEDGER_PRUNE_PER_CALL) break;
      ledger.entries.delete(room);
      ledger.total -= entry.bytes;
      pruned += 1;
    }
    if (ledger.entries.size === 0) this.addresses.delete(address);
  }
}
