/**
 * The Redis side of the per-address ledger (stored-bytes.ts). A room's script cannot touch
 * the address's keys (Cluster: another slot), so a set runs in two steps:
 * 1. set.lua is told whether the address is at its bound, from what this pod last learned of
 *    the address's total (no round trip, but for the address's first set on this pod, which
 *    reads it): at it, a set that would raise the room's charged size is refused there,
 *    atomically with the room; else it applies and answers its charge.
 * 2. A charge above 0 goes to lua/ledger.lua without waiting (auto-pipelined with whatever
 *    follows), and its answer, the address's total across the cluster, is what this pod
 *    knows from then on.
 * So only a set that grows a room costs a second call. The overshoot: the sets of the
 * address that passed step 1 before a pod learned the total crossed the bound, about one set
 * per connection of the address writing at that moment, each at most its own growth.
 * A pod that knows an address at its bound re-reads the total before a growing set once it
 * is REFRESH_MS old, so an address whose entries lapse gets its growth back. Leaves and
 * (once an hour) renewals touch the entry of the connection's room, as in memory.
 */
import type { EngineLimits, EngineStatusListener, Lease } from '../ports.ts';
import { toError } from '../errors.ts';
import { LEDGER_PRUNE_PER_CALL } from '../stored-bytes.ts';
import { ledgerKeys } from './keys.ts';
import type { Scripts } from './scripts.ts';

const noop = (): void => undefined;

/** What set.lua takes for the setter's ledger: not charged, may grow, at its bound. */
export type LedgerGate = '' | '0' | '1';

/** A total of an address at its bound is re-read after this long, before a set that may grow. */
const REFRESH_MS = 5_000;
/** Addresses whose total a pod keeps; beyond, the longest unchanged is forgotten. */
const KNOWN_ADDRESSES = 10_000;
/** A renewed lease touches its address's entry this often (at most a quarter of the window). */
const TOUCH_EVERY_MS = 60 * 60 * 1000;
/** Connections whose last touch is kept; beyond (leases lost without a leave), it starts over: touches come early, never late. */
const MAX_TOUCHED = 200_000;

interface Known {
  total: number;
  /** localNow() of the answer: freshness on this pod's own clock. */
  at: number;
}

export interface RedisLedgerOptions {
  readonly scripts: Scripts;
  readonly prefix: string;
  readonly limits: EngineLimits;
  /** The store's clock argument for scripts (-1: Redis's TIME). */
  readonly now: () => number;
  /** This pod's clock for the freshness of what it knows (the injected clock in tests). */
  readonly localNow: () => number;
  readonly report: EngineStatusListener;
}

export class RedisLedger {
  private readonly known = new Map<string, Known>();
  /** Connection id -> when its renewal last touched its entry (localNow()). */
  private readonly touchedAt = new Map<string, number>();
  /** Connection id -> the last of its changes waiting for a read of its address's total (inOrder). */
  private readonly waiting = new Map<string, Promise<void>>();

  constructor(private readonly options: RedisLedgerOptions) {}

  private get limit(): number {
    return this.options.limits.maxStoredBytesPerAddress ?? 0;
  }

  /**
   * Issues one change of connection `origin` (a set, rename or delete) with the gate of its
   * `address`: at once when this pod knows the total and none of the connection's changes is
   * waiting, else after the read and behind the connection's earlier changes. A connection's
   * changes reach Redis in the order it sent them: a later set or delete overtaking a set
   * that waited for a read would leave the room on the older value. A change waits for the
   * one before it to be issued (`change` sends its script synchronously), not answered.
   */
  inOrder<T>(origin: string, address: string | undefined, change: (gate: LedgerGate) => Promise<T>): Promise<T> {
    const before = this.waiting.get(origin);
    const gate = before === undefined ? this.gate(address) : before.then(() => this.gate(address));
    return typeof gate === 'string' ? change(gate) : this.enqueue(origin, gate, change);
  }

  private enqueue<T>(origin: string, gate: Promise<LedgerGate>, change: (gate: LedgerGate) => Promise<T>): Promise<T> {
    // Wrapped, so that `issued` settles once the change is sent rather than adopting its answer.
    const issued = gate.then((known) => ({ answer: change(known) }));
    const link = issued.then(noop, noop);
    this.waiting.set(origin, link);
    void link.then(() => {
      if (this.waiting.get(origin) === link) this.waiting.delete(origin);
    });
    return issued.then(({ answer }) => answer);
  }

  /** What set.lua must be told for a set from `address`: at once, or after re-reading a stale total. */
  gate(address: string | undefined): LedgerGate | Promise<LedgerGate> {
    const limit = this.limit;
    if (address === undefined || limit === 0) return '';
    const known = this.known.get(address);
    if (known !== undefined && known.total < limit) return '0';
    if (known !== undefined && this.options.localNow() - known.at < REFRESH_MS) return '1';
    // Unknown on this pod (its first set here), or at the bound a while ago: read the total
    // first. Unreadable: the set is let through (the store is failing it anyway, most likely).
    return this.call(address, 'total').then(
      (total) => (total < limit ? '0' : '1'),
      () => (known === undefined ? '0' : '1'),
    );
  }

  /** Charges what a set grew a room by; not awaited by the set (see the module comment). */
  charge(address: string | undefined, room: string, bytes: number): void {
    // An operator's change (no address) and one that grew nothing charge nobody.
    if (address === undefined || bytes <= 0) return;
    const known = this.known.get(address);
    // Counted at once, so this pod's next sets see it before Redis's answer comes back.
    if (known !== undefined) known.total += bytes;
    this.call(address, 'charge', room, bytes).catch((error: unknown) => this.failed(error));
  }

  /** The connection left its room: the address's entry restarts its window, as the room's ttl does. Not awaited by the leave. */
  left(lease: Lease): void {
    this.touchedAt.delete(lease.connectionId);
    this.touch(lease.address, lease.room);
  }

  /**
   * Leases renewed: a connection staying in its room keeps the address's entry from lapsing,
   * touched once every TOUCH_EVERY_MS (well inside the window) rather than at each renewal.
   */
  renewed(leases: readonly Lease[]): void {
    if (this.limit === 0) return;
    const at = this.options.localNow();
    const every = Math.min(TOUCH_EVERY_MS, this.options.limits.roomTtlMs / 4);
    if (this.touchedAt.size > MAX_TOUCHED) this.touchedAt.clear();
    for (const lease of leases) {
      const last = this.touchedAt.get(lease.connectionId);
      if (last !== undefined && at - last < every) continue;
      this.touchedAt.set(lease.connectionId, at);
      this.touch(lease.address, lease.room);
    }
  }

  private touch(address: string, room: string): void {
    if (this.limit === 0) return;
    this.call(address, 'touch', room).catch((error: unknown) => this.failed(error));
  }

  private async call(address: string, mode: 'charge' | 'touch' | 'total', ...rest: (string | number)[]): Promise<number> {
    const { scripts, prefix, limits, now } = this.options;
    const total = await scripts.ledger(...ledgerKeys(prefix, address), now(), limits.roomTtlMs, LEDGER_PRUNE_PER_CALL, mode, ...rest);
    this.learn(address, total);
    return total;
  }

  private learn(address: string, total: number): void {
    this.known.delete(address);
    if (this.known.size >= KNOWN_ADDRESSES) {
      const oldest = this.known.keys().next();
      if (oldest.done !== true) this.known.delete(oldest.value);
    }
    this.known.set(address, { total, at: this.options.localNow() });
  }

  private failed(error: unknown): void {
    this.options.report({ type: 'error', role: 'store', code: 'CV_ERR_LEDGER', error: toError(error) });
  }
}
