import { expect, it } from 'vitest';
import { MAX_BANS } from '../../src/moderation.ts';
import type { BanRequest } from '../../src/ports.ts';
import type { World } from './harness.ts';
import { freshRoom, joinRequest } from './harness.ts';

type MakeWorld = () => Promise<World>;

const MINUTE = 60_000;

function ban(target: Pick<BanRequest, 'kind' | 'value'> & Partial<BanRequest>): BanRequest {
  return { room: null, ttlMs: MINUTE, by: 'ops', reason: 'spam', ...target };
}

/** Bans and the run-time block list: checked at every join on every pod, lapsing by themselves. */
export function moderationContract(world: MakeWorld): void {
  it('refuses a banned username in any case, on every pod, claimed or not, until the ban lapses', async () => {
    const { pods, advance } = await world();
    const room = freshRoom();
    expect((await pods[0].moderation.ban(ban({ kind: 'username', value: 'Troll' }))).ok).toBe(true);
    expect(await pods[1].store.join(joinRequest(room, 'c1', 'tROLL'))).toEqual({ ok: false, reason: 'banned-username' });
    const unclaimed = { ...joinRequest(room, 'c2', 'troll', null), claimUsername: false };
    expect(await pods[0].store.join(unclaimed)).toEqual({ ok: false, reason: 'banned-username' });
    expect(await pods[0].store.memberCount(room)).toBe(0);
    advance(MINUTE - 1);
    expect((await pods[1].store.join(joinRequest(room, 'c3', 'troll'))).ok).toBe(false);
    advance(1);
    expect((await pods[1].store.join(joinRequest(room, 'c4', 'troll'))).ok).toBe(true);
  });

  it('refuses a banned address however the socket spells it, and lets other addresses in', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].moderation.ban(ban({ kind: 'address', value: '203.0.113.9' }));
    await pods[0].moderation.ban(ban({ kind: 'address', value: '2001:DB8:0:0::1' }));
    const from = (id: string, address: string) => joinRequest(room, id, id, [['x', '0']], address);
    expect(await pods[1].store.join(from('c1', '203.0.113.9'))).toEqual({ ok: false, reason: 'banned-address' });
    expect(await pods[1].store.join(from('c2', '::ffff:203.0.113.9'))).toEqual({ ok: false, reason: 'banned-address' });
    expect(await pods[1].store.join(from('c3', '2001:db8::1'))).toEqual({ ok: false, reason: 'banned-address' });
    expect((await pods[1].store.join(from('c4', '203.0.113.10'))).ok).toBe(true);
  });

  it("applies a ban with a room to that room only, and checks bans before the room's own limits", async () => {
    const { pods } = await world();
    const room = freshRoom();
    const other = freshRoom();
    await pods[0].moderation.ban(ban({ kind: 'username', value: 'bob', room }));
    expect(await pods[1].store.join(joinRequest(room, 'c1', 'bob'))).toEqual({ ok: false, reason: 'banned-username' });
    expect((await pods[1].store.join(joinRequest(other, 'c2', 'bob'))).ok).toBe(true);
    // Bob holds his name in `other`: a banned Bob is refused as banned, not as a taken name.
    await pods[0].moderation.ban(ban({ kind: 'username', value: 'bob', room: other }));
    expect(await pods[1].store.join(joinRequest(other, 'c3', 'BOB'))).toEqual({ ok: false, reason: 'banned-username' });
  });

  it('lists live bans soonest first with who and why, replaces a ban of the same target, and lifts one', async () => {
    const { pods, advance } = await world();
    const room = freshRoom();
    const first = await pods[0].moderation.ban(ban({ kind: 'username', value: 'Eve', ttlMs: 2 * MINUTE, reason: 'flood' }));
    expect(first).toEqual({
      ok: true,
      ban: { kind: 'username', value: 'eve', room: null, by: 'ops', reason: 'flood', createdAt: expect.any(Number), expiresAt: expect.any(Number) },
    });
    const createdAt = first.ok ? first.ban.createdAt : 0;
    expect(first.ok && first.ban.expiresAt - createdAt).toBe(2 * MINUTE);
    await pods[1].moderation.ban(ban({ kind: 'address', value: '198.51.100.7', room, by: 'ops.bob' }));
    await pods[0].moderation.ban(ban({ kind: 'username', value: 'mallory', ttlMs: 1_000 }));
    const listed = await pods[1].moderation.bans();
    expect(listed.map((entry) => [entry.kind, entry.value, entry.room, entry.by, entry.reason, entry.expiresAt - createdAt])).toEqual([
      ['username', 'mallory', null, 'ops', 'spam', 1_000],
      ['address', '198.51.100.7', room, 'ops.bob', 'spam', MINUTE],
      ['username', 'eve', null, 'ops', 'flood', 2 * MINUTE],
    ]);
    advance(1_000);
    // Lapsed bans are not listed; banning a target again replaces its ban.
    await pods[1].moderation.ban(ban({ kind: 'username', value: 'EVE', ttlMs: 3 * MINUTE }));
    expect((await pods[0].moderation.bans()).map((entry) => [entry.value, entry.expiresAt - createdAt])).toEqual([
      ['198.51.100.7', MINUTE],
      ['eve', 1_000 + 3 * MINUTE],
    ]);
    expect(await pods[0].moderation.unban({ kind: 'username', value: 'Eve', room: null })).toBe(true);
    expect(await pods[1].moderation.unban({ kind: 'username', value: 'eve', room: null })).toBe(false);
    expect(await pods[1].moderation.unban({ kind: 'address', value: '198.51.100.7', room: null })).toBe(false);
    expect((await pods[0].store.join(joinRequest(room, 'c1', 'eve'))).ok).toBe(true);
    expect((await pods[0].moderation.bans()).map((entry) => entry.value)).toEqual(['198.51.100.7']);
  });

  it(`holds at most ${MAX_BANS} live bans; a ban of a target already banned still replaces it`, async () => {
    const { pods } = await world();
    const results = await Promise.all(Array.from({ length: MAX_BANS }, (_, i) => pods[i % 2]!.moderation.ban(ban({ kind: 'username', value: `user${i}` }))));
    expect(results.every((result) => result.ok)).toBe(true);
    expect(await pods[0].moderation.ban(ban({ kind: 'username', value: 'onemore' }))).toEqual({ ok: false, reason: 'too-many-bans' });
    expect((await pods[1].moderation.ban(ban({ kind: 'username', value: 'user7', reason: 'again' }))).ok).toBe(true);
    expect(await pods[1].moderation.bans()).toHaveLength(MAX_BANS);
  });

  it('refuses a username containing a word of the run-time block list on every pod, until the word is unblocked', async () => {
    const { pods } = await world();
    const room = freshRoom();
    expect(await pods[0].moderation.blockWord('Bad')).toBe('added');
    expect(await pods[1].moderation.blockWord('bad')).toBe('present');
    expect(await pods[1].moderation.blockWord('worse')).toBe('added');
    expect(await pods[0].moderation.blockedWords()).toEqual(['bad', 'worse']);
    expect(await pods[1].store.join(joinRequest(room, 'c1', 'xBADx'))).toEqual({ ok: false, reason: 'blocked-username' });
    expect(await pods[0].moderation.unblockWord('BAD')).toBe(true);
    expect(await pods[0].moderation.unblockWord('bad')).toBe(false);
    expect((await pods[1].store.join(joinRequest(room, 'c2', 'xBADx'))).ok).toBe(true);
    expect(await pods[1].moderation.blockedWords()).toEqual(['worse']);
  });
}
