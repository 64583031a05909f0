/** One joined connection as the memory store tracks it. */
export interface LeaseRecord {
  readonly room: string;
  readonly connectionId: string;
  readonly address: string;
  /** Null when the connection holds no username (it did not claim one). */
  readonly usernameKey: string | null;
  expiresAt: number;
}

const NONE_LAPSED: readonly LeaseRecord[] = Object.freeze([]);

/**
 * Live leases in expiry order, lapsed ones kept for `renew()`, and per-address counts of
 * live leases. Every expiry is `now + leaseTtlMs` with one ttl and a clock that does not
 * go back, so insertion order is expiry order: finding the lapsed leases costs only their
 * number (a re-inserted lease moves to the end).
 */
export class LeaseTable {
  private readonly live = new Map<string, LeaseRecord>();
  private readonly lapsedRecords = new Map<string, LeaseRecord>();
  private readonly perAddress = new Map<string, number>();
  /**
   * No live lease expires before this (a lower bound: removals only raise the true earliest),
   * so `takeLapsed`, which the store calls at every call, looks at the map only when one may
   * have lapsed.
   */
  private earliestExpiry = Number.POSITIVE_INFINITY;

  addressCount(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  getLive(connectionId: string): LeaseRecord | undefined {
    return this.live.get(connectionId);
  }

  getLapsed(connectionId: string): LeaseRecord | undefined {
    return this.lapsedRecords.get(connectionId);
  }

  /** Makes the record live (new, or restored from lapsed) until `expiresAt`. */
  add(record: LeaseRecord, expiresAt: number): void {
    this.lapsedRecords.delete(record.connectionId);
    this.live.delete(record.connectionId);
    record.expiresAt = expiresAt;
    this.live.set(record.connectionId, record);
    if (expiresAt < this.earliestExpiry) this.earliestExpiry = expiresAt;
    this.perAddress.set(record.address, this.addressCount(record.address) + 1);
  }

  extend(record: LeaseRecord, expiresAt: number): void {
    this.live.delete(record.connectionId);
    record.expiresAt = expiresAt;
    this.live.set(record.connectionId, record);
    if (expiresAt < this.earliestExpiry) this.earliestExpiry = expiresAt;
  }

  /** Drops a live lease; returns it so the caller can detach it from its room. */
  removeLive(connectionId: string): LeaseRecord | undefined {
    const record = this.live.get(connectionId);
    if (record === undefined) return undefined;
    this.live.delete(connectionId);
    this.decrementAddress(record.address);
    return record;
  }

  forgetLapsed(connectionId: string): LeaseRecord | undefined {
    const record = this.lapsedRecords.get(connectionId);
    this.lapsedRecords.delete(connectionId);
    return record;
  }

  /** Moves every lease whose expiry is <= now to the lapsed set and returns them (the store asks at every call: mostly none, and then no array is made). */
  takeLapsed(now: number): readonly LeaseRecord[] {
    if (now < this.earliestExpiry) return NONE_LAPSED;
    let lapsed: LeaseRecord[] | null = null;
    this.earliestExpiry = Number.POSITIVE_INFINITY;
    for (const [id, record] of this.live) {
      if (record.expiresAt > now) {
        // The first live lease left: insertion order is expiry order, so it expires first.
        this.earliestExpiry = record.expiresAt;
        break;
      }
      this.live.delete(id);
      this.decrementAddress(record.address);
      this.lapsedRecords.set(id, record);
      (lapsed ??= []).push(record);
    }
    return lapsed ?? NONE_LAPSED;
  }

  private decrementAddress(address: string): void {
    const count = this.addressCount(address) - 1;
    if (count > 0) this.perAddress.set(address, count);
    else this.perAddress.delete(address);
  }
}
