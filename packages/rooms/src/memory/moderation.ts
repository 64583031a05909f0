import type { Ban, BanRequest, BanResult, BanTarget, BlockWordResult, JoinRefusal, Moderation } from '../ports.ts';
import { engineClosed } from '../errors.ts';
import { MAX_BANS, MAX_BLOCKED_WORDS, banMember, canonicalAddress, containsBlockedWord, normalizedTarget, usernameKey } from '../moderation.ts';

/** Bans and the run-time block list of the single-node engine; the memory store asks it at every join. */
export class MemoryModeration implements Moderation {
  /** banMember(target) -> ban; lapsed ones are dropped whenever the table is read. */
  private readonly table = new Map<string, Ban>();
  private readonly words = new Set<string>();
  private closed = false;

  constructor(private readonly now: () => number) {}

  async ban(request: BanRequest): Promise<BanResult> {
    this.assertOpen();
    const target = normalizedTarget(request);
    const member = banMember(target);
    // Lapsed bans only cost memory up to MAX_BANS: swept when the table is full, not on every ban.
    const now = !this.table.has(member) && this.table.size >= MAX_BANS ? this.prune() : this.now();
    if (!this.table.has(member) && this.table.size >= MAX_BANS) return { ok: false, reason: 'too-many-bans' };
    const ban: Ban = { ...target, createdAt: now, expiresAt: now + request.ttlMs, by: request.by, reason: request.reason };
    this.table.set(member, ban);
    return { ok: true, ban };
  }

  async unban(target: BanTarget): Promise<boolean> {
    this.prune();
    return this.table.delete(banMember(normalizedTarget(target)));
  }

  async bans(): Promise<readonly Ban[]> {
    this.prune();
    return [...this.table.values()].sort((a, b) => a.expiresAt - b.expiresAt);
  }

  async blockedWords(): Promise<readonly string[]> {
    this.assertOpen();
    return [...this.words].sort();
  }

  async blockWord(word: string): Promise<BlockWordResult> {
    this.assertOpen();
    const lower = usernameKey(word);
    if (this.words.has(lower)) return 'present';
    if (this.words.size >= MAX_BLOCKED_WORDS) return 'list-full';
    this.words.add(lower);
    return 'added';
  }

  async unblockWord(word: string): Promise<boolean> {
    this.assertOpen();
    return this.words.delete(usernameKey(word));
  }

  /** Why a join of `username` from `address` into `room` is barred, or null. */
  barred(room: string, username: string, address: string): JoinRefusal | null {
    const now = this.now();
    const name = usernameKey(username);
    const canonical = canonicalAddress(address);
    const live = (target: BanTarget): boolean => (this.table.get(banMember(target))?.expiresAt ?? 0) > now;
    if (live({ kind: 'username', value: name, room: null }) || live({ kind: 'username', value: name, room })) return 'banned-username';
    if (live({ kind: 'address', value: canonical, room: null }) || live({ kind: 'address', value: canonical, room })) return 'banned-address';
    if (containsBlockedWord(name, this.words)) return 'blocked-username';
    return null;
  }

  close(): void {
    this.closed = true;
  }

  private prune(): number {
    this.assertOpen();
    const now = this.now();
    for (const [member, ban] of this.table) if (ban.expiresAt <= now) this.table.delete(member);
    return now;
  }

  private assertOpen(): void {
    if (this.closed) throw engineClosed();
  }
}
