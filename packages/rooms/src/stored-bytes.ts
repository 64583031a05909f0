/**
 * What one address can make the store hold: each address has a ledger of the bytes its sets
 * grew rooms by, and a set from an address at `maxStoredBytesPerAddress` that would grow a
 * room further is refused (`address-bytes`). README "What one address can make Redis hold"
 * states the bound this gives.
 *
 * - A room's *charged size* is the most it ever held (its names and values, plus
 *   ROOM_BASE_BYTES once) since a set was first charged for it: a set is charged only for
 *   what it raises that high-water mark by. A value that shrinks and grows back, a counter
 *   going from 9 to 10, a set that replaces a value by one as long: nothing. So a project
 *   played for months costs its pupil's address what its room holds at most, once.
 * - The ledger keeps, per (address, room), the bytes charged and when the entry lapses:
 *   `roomTtlMs` after its latest charge, or its latest leave or lease renewal in that room
 *   by a connection of the address (Redis: renewals touch it once an hour), which is no
 *   earlier than the room itself can be forgotten for what that address did (a room is
 *   forgotten `roomTtlMs` after its last member left). Staying in a room, or rejoining it to
 *   keep it alive, keeps it in the ledger; only other addresses' members keep a room alive
 *   past its entry.
 * - The limit falls on growth only: a join, or a set that does not raise a charged size,
 *   is never refused by it. A set that takes the ledger over the limit still applies (the
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

/**
 * What a set that takes a room from `before` to `after` bytes is charged, given the room's
 * charged size (null: no set was charged for it yet), and the charged size after it.
 * set.lua `charge_of`: the same rule.
 */
export function chargeOf(before: number, after: number, chargedSize: number | null): { readonly charge: number; readonly chargedSize: number | null } {
  if (after <= before) return { charge: 0, chargedSize };
  const high = chargedSize ?? before + ROOM_BASE_BYTES;
  const raised = after + ROOM_BASE_BYTES - high;
  if (raised <= 0) return { charge: 0, chargedSize: high };
  return { charge: raised + (chargedSize === null ? ROOM_BASE_BYTES : 0), chargedSize: after + ROOM_BASE_BYTES };
}

interface LedgerEntry {
  bytes: number;
  lapsesAt: number;
}

/** One address's entries, oldest lapse first (every update moves its entry to the end). */
interface AddressLedger {
  readonly entries: Map<string, LedgerEntry>;
  total: number;
}

/** Per-address ledgers of charged bytes (see the module comment); `windowMs` 0: entries never lapse. */
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
    const ledger = this.addresses.get(address) ?? { entries: new Map(), total: 0 };
    this.prune(address, ledger, now);
    // Pruning may have dropped an emptied ledger: it holds an entry again.
    this.addresses.set(address, ledger);
    const entry = ledger.entries.get(room) ?? { bytes: 0, lapsesAt: 0 };
    entry.bytes += bytes;
    entry.lapsesAt = this.lapse(now);
    ledger.entries.delete(room);
    ledger.entries.set(room, entry);
    ledger.total += bytes;
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
