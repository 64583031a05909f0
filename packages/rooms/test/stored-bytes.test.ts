import { describe, expect, it } from 'vitest';
import { LOG_NAME_BYTES, LOG_VALUE_BYTES } from '../src/log.ts';
import { LEDGER_PRUNE_PER_CALL, LOG_ENTRY_BASE_BYTES, ROOM_BASE_BYTES, StoredBytesLedger, chargeOf, logEntryBytes, roomSize } from '../src/stored-bytes.ts';

describe('chargeOf: what a set is charged', () => {
  const size = (bytes: number): number => roomSize(bytes, 0, 0);

  it("charges a room's first growth with its base, then only what raises its high-water mark", () => {
    const first = chargeOf(size(10), size(110), null);
    expect(first).toEqual({ charge: 100 + ROOM_BASE_BYTES, chargedSize: size(110) });
    // Shrinks, then grows back below and up to the mark: nothing; beyond it: the excess.
    expect(chargeOf(size(110), size(20), first.chargedSize)).toEqual({ charge: 0, chargedSize: first.chargedSize });
    expect(chargeOf(size(20), size(110), first.chargedSize)).toEqual({ charge: 0, chargedSize: first.chargedSize });
    expect(chargeOf(size(110), size(150), first.chargedSize)).toEqual({ charge: 40, chargedSize: size(150) });
  });

  it('never charges a set that does not grow the room, charged or not (what joins or operators stored is free)', () => {
    expect(chargeOf(size(500), size(500), null)).toEqual({ charge: 0, chargedSize: null });
    expect(chargeOf(size(500), size(400), null)).toEqual({ charge: 0, chargedSize: null });
    expect(chargeOf(size(500), size(501), null)).toEqual({ charge: 1 + ROOM_BASE_BYTES, chargedSize: size(501) });
  });

  it('counts the cloud log full of its largest entry: a first long value costs its log length times, a second as long nothing', () => {
    const entry = logEntryBytes('x', '7'.repeat(5000), LOG_NAME_BYTES, LOG_VALUE_BYTES);
    expect(entry).toBe(1 + LOG_VALUE_BYTES + LOG_ENTRY_BASE_BYTES);
    expect(roomSize(5001, entry, 100)).toBe(5001 + 100 * entry + ROOM_BASE_BYTES);
    const charged = roomSize(5001, entry, 100);
    expect(chargeOf(charged, roomSize(5001, entry, 100), charged).charge).toBe(0);
  });
});

describe('StoredBytesLedger: per address, per room, lapsing a window after the last charge or touch', () => {
  it("sums an address's entries apart from every other address's", () => {
    const ledger = new StoredBytesLedger(() => 1000);
    expect(ledger.charge('a', 'r1', 10, 0)).toBe(10);
    expect(ledger.charge('a', 'r1', 5, 0)).toBe(15);
    expect(ledger.charge('a', 'r2', 1, 0)).toBe(16);
    expect(ledger.charge('b', 'r1', 7, 0)).toBe(7);
    expect(ledger.total('a', 0)).toBe(16);
    expect(ledger.total('nobody', 0)).toBe(0);
  });

  it('lapses an entry a window after its last charge or touch, and a touch never creates one', () => {
    const ledger = new StoredBytesLedger(() => 1000);
    ledger.charge('a', 'kept', 10, 0);
    ledger.charge('a', 'dropped', 20, 0);
    ledger.touch('a', 'kept', 900);
    ledger.touch('a', 'never-charged', 900);
    expect(ledger.total('a', 999)).toBe(30);
    expect(ledger.total('a', 1000)).toBe(10);
    expect(ledger.total('a', 1899)).toBe(10);
    expect(ledger.total('a', 1900)).toBe(0);
    // An emptied ledger is gone and starts again from nothing.
    expect(ledger.charge('a', 'kept', 3, 2000)).toBe(3);
  });

  it('drops the whole ledger of an address that never comes back once it lapsed, as other addresses are charged', () => {
    const ledger = new StoredBytesLedger(() => 1000);
    ledger.charge('gone', 'r', 10, 0);
    ledger.charge('stays', 'r', 1, 500);
    ledger.charge('stays', 'r', 1, 1000);
    expect((ledger as unknown as { addresses: Map<string, unknown> }).addresses.has('gone')).toBe(false);
    expect(ledger.total('stays', 1000)).toBe(2);
  });

  it('keeps every entry when the window is 0 (rooms are never forgotten either)', () => {
    const ledger = new StoredBytesLedger(() => 0);
    ledger.charge('a', 'r', 10, 0);
    expect(ledger.total('a', Number.MAX_SAFE_INTEGER)).toBe(10);
  });

  it('prunes at most LEDGER_PRUNE_PER_CALL lapsed entries a call, so its total only lags, never undercounts', () => {
    const ledger = new StoredBytesLedger(() => 10);
    for (let room = 0; room < LEDGER_PRUNE_PER_CALL * 2 + 1; room += 1) ledger.charge('a', `r${room}`, 1, 0);
    expect(ledger.total('a', 10)).toBe(LEDGER_PRUNE_PER_CALL + 1);
    expect(ledger.total('a', 10)).toBe(1);
    expect(ledger.total('a', 10)).toBe(0);
  });
});
