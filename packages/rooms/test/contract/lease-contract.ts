import { expect, it } from 'vitest';
import type { EngineLimits } from '../../src/ports.ts';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, leaseOf, sorted } from './harness.ts';

type MakeWorld = (limits?: Partial<EngineLimits>) => Promise<World>;

/** Lease lapse and renewal, and the expiry of empty rooms, on the injected clock. */
export function leaseContract(world: MakeWorld): void {
  it('a lease counts until leaseTtlMs have passed, then its username and room slot are free', async () => {
    const { pods, limits, advance } = await world({ maxClientsPerRoom: 1 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice'));
    advance(limits.leaseTtlMs - 1);
    expect(await pods[1].store.memberCount(room)).toBe(1);
    expect(await pods[1].store.join(joinRequest(room, 'c2', 'ALICE'))).toEqual({ ok: false, reason: 'username-taken' });
    advance(1);
    expect(await pods[1].store.memberCount(room)).toBe(0);
    const rejoined = await pods[1].store.join(joinRequest(room, 'c3', 'ALICE'));
    expect(rejoined.ok && rejoined.outcome).toBe('joined');
  });

  it('a lapsed lease frees its address slot and its room stops counting as active', async () => {
    const { pods, limits, advance } = await world({ maxRooms: 1, maxConnectionsPerAddress: 1 });
    await pods[0].store.join(joinRequest(freshRoom(), 'c1', 'alice', [['x', '0']], '10.1.1.1'));
    const other = joinRequest(freshRoom(), 'c2', 'bob', [['x', '0']], '10.1.1.1');
    expect(await pods[1].store.join(other)).toEqual({ ok: false, reason: 'too-many-rooms' });
    advance(limits.leaseTtlMs);
    const created = await pods[1].store.join(other);
    expect(created.ok && created.outcome).toBe('created');
  });

  it('renew extends a lease by leaseTtlMs from the renewal', async () => {
    const { pods, limits, advance } = await world();
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice');
    await pods[0].store.join(alice);
    advance(limits.leaseTtlMs - 1);
    await pods[0].store.renew([leaseOf(alice)]);
    advance(limits.leaseTtlMs - 1);
    expect(await pods[1].store.memberCount(room)).toBe(1);
    expect(await pods[1].store.join(joinRequest(room, 'c2', 'Alice'))).toEqual({ ok: false, reason: 'username-taken' });
    advance(1);
    expect(await pods[1].store.memberCount(room)).toBe(0);
  });

  it('renew does not bring back a lease that left (a renew racing the leave)', async () => {
    const { pods } = await world({ maxClientsPerRoom: 1 });
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice');
    await pods[0].store.join(alice);
    await pods[0].store.leave(leaseOf(alice));
    expect(await pods[0].store.renew([leaseOf(alice)])).toEqual([leaseOf(alice)]);
    expect(await pods[1].store.memberCount(room)).toBe(0);
    const next = await pods[1].store.join(joinRequest(room, 'c2', 'bob'));
    expect(next.ok && next.outcome).toBe('joined');
  });

  it('renew restores a lapsed lease with its slots and username when nobody took them', async () => {
    const { pods, limits, advance } = await world({ maxConnectionsPerAddress: 1 });
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice', [['x', '0']], '10.1.1.1');
    await pods[0].store.join(alice);
    advance(limits.leaseTtlMs);
    expect(await pods[0].store.memberCount(room)).toBe(0);
    expect(await pods[0].store.renew([leaseOf(alice)])).toEqual([]);
    expect(await pods[1].store.memberCount(room)).toBe(1);
    expect(await pods[1].store.join(joinRequest(room, 'c2', 'ALICE', [['x', '0']], '10.2.2.2'))).toEqual({
      ok: false,
      reason: 'username-taken',
    });
    expect(await pods[1].store.join(joinRequest(freshRoom(), 'c3', 'bob', [['x', '0']], '10.1.1.1'))).toEqual({
      ok: false,
      reason: 'address-limit',
    });
  });

  it('renew returns a lapsed lease whose username another connection took meanwhile, and does not restore it', async () => {
    const { pods, limits, advance } = await world();
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice');
    const other = joinRequest(room, 'c2', 'bob');
    await pods[0].store.join(alice);
    await pods[0].store.join(other);
    advance(limits.leaseTtlMs);
    await pods[1].store.renew([leaseOf(other)]);
    expect((await pods[1].store.join(joinRequest(room, 'c3', 'ALICE'))).ok).toBe(true);
    expect(await pods[0].store.renew([leaseOf(alice), leaseOf(other)])).toEqual([leaseOf(alice)]);
    expect(await pods[1].store.memberCount(room)).toBe(2);
  });

  it('renew returns a lapsed lease when its room filled up meanwhile, and does not restore it', async () => {
    const { pods, limits, advance } = await world({ maxClientsPerRoom: 1 });
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice');
    await pods[0].store.join(alice);
    advance(limits.leaseTtlMs);
    expect((await pods[1].store.join(joinRequest(room, 'c2', 'bob'))).ok).toBe(true);
    expect(await pods[0].store.renew([leaseOf(alice)])).toEqual([leaseOf(alice)]);
    expect(await pods[1].store.memberCount(room)).toBe(1);
  });

  it("renew restores a lapsed lease into a room whose own capacity (its policy) is above the engine's", async () => {
    const { pods, limits, advance } = await world({ maxClientsPerRoom: 1 });
    const room = freshRoom();
    const alice = { ...joinRequest(room, 'c1', 'alice'), maxClientsPerRoom: 2 };
    const bob = { ...joinRequest(room, 'c2', 'bob'), maxClientsPerRoom: 2 };
    await pods[0].store.join(alice);
    advance(limits.leaseTtlMs);
    expect((await pods[1].store.join(bob)).ok).toBe(true);
    // The room holds one of its two seats: alice comes back into the other.
    expect(await pods[0].store.renew([{ ...leaseOf(alice), maxClientsPerRoom: 2 }])).toEqual([]);
    expect(await pods[1].store.memberCount(room)).toBe(2);
  });

  it('renew returns every lease of a room that is gone (expired or lost by the store)', async () => {
    const { pods, limits, advance } = await world({ roomTtlMs: 1_000 });
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice');
    const bob = joinRequest(room, 'c2', 'bob');
    await pods[0].store.join(alice);
    await pods[0].store.join(bob);
    // Nobody renewed: the leases end, then the empty room's ttl runs out.
    advance(limits.leaseTtlMs * 2 + 1_000);
    expect(await pods[1].store.snapshot(room)).toBeNull();
    expect(await pods[0].store.renew([leaseOf(alice), leaseOf(bob)])).toEqual([leaseOf(alice), leaseOf(bob)]);
  });

  it('a room whose members all lapsed is migrated by a join with other names', async () => {
    const { pods, limits, advance } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '1']]));
    advance(limits.leaseTtlMs);
    const migrated = await pods[1].store.join(
      joinRequest(room, 'c2', 'bob', [
        ['x', '0'],
        ['y', '2'],
      ]),
    );
    expect(migrated.ok && migrated.outcome).toBe('migrated');
    expect(migrated.ok && sorted(migrated.snapshot.variables)).toEqual([
      ['x', '1'],
      ['y', '2'],
    ]);
  });

  it('forgets an empty room roomTtlMs after its last member left; a later join creates it anew', async () => {
    const { pods, limits, advance } = await world();
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice', [['x', '1']]);
    const created = await pods[0].store.join(alice);
    await pods[0].store.set(room, 'c1', 'x', '5');
    await pods[0].store.leave(leaseOf(alice));
    advance(limits.roomTtlMs - 1);
    expect((await pods[1].store.snapshot(room))?.variables).toEqual([['x', '5']]);
    advance(1);
    expect(await pods[1].store.snapshot(room)).toBeNull();
    expect(await pods[1].store.set(room, 'c1', 'x', '6')).toEqual({ ok: false, reason: 'unknown-room' });
    const again = await pods[1].store.join(joinRequest(room, 'c2', 'bob', [['x', '7']]));
    expect(again.ok && again.outcome).toBe('created');
    if (!again.ok || !created.ok) return;
    expect(again.snapshot.epoch).not.toBe(created.snapshot.epoch);
    expect(again.snapshot).toMatchObject({ seq: 0, variables: [['x', '7']] });
  });

  it('a join before roomTtlMs keeps the room, and the ttl restarts at the next leave', async () => {
    const { pods, limits, advance } = await world();
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice', [['x', '1']]);
    await pods[0].store.join(alice);
    await pods[0].store.leave(leaseOf(alice));
    advance(limits.roomTtlMs - 1);
    const bob = joinRequest(room, 'c2', 'bob', [['x', '0']]);
    expect((await pods[1].store.join(bob)).ok).toBe(true);
    await pods[1].store.leave(leaseOf(bob));
    advance(limits.roomTtlMs - 1);
    expect((await pods[0].store.snapshot(room))?.variables).toEqual([['x', '1']]);
  });

  it('never forgets a room while a member renews its lease', async () => {
    const { pods, limits, advance } = await world({ leaseTtlMs: 15_000, roomTtlMs: 30_000 });
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice');
    await pods[0].store.join(alice);
    for (let elapsed = 0; elapsed <= 3 * limits.roomTtlMs; elapsed += 10_000) {
      advance(10_000);
      await pods[0].store.renew([leaseOf(alice)]);
    }
    expect(await pods[1].store.snapshot(room)).not.toBeNull();
    expect(await pods[1].store.memberCount(room)).toBe(1);
  });

  it('keeps an empty room forever when roomTtlMs is 0', async () => {
    const { pods, advance } = await world({ roomTtlMs: 0 });
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice', [['x', '1']]);
    await pods[0].store.join(alice);
    await pods[0].store.leave(leaseOf(alice));
    advance(10 * 365 * 24 * 3_600_000);
    expect((await pods[1].store.snapshot(room))?.variables).toEqual([['x', '1']]);
  });

  it('forgets a room nobody changed untouchedRoomTtlMs after its last member left, and a changed room only after roomTtlMs', async () => {
    const { pods, advance } = await world({ untouchedRoomTtlMs: 5_000, roomTtlMs: 600_000 });
    const untouched = joinRequest(freshRoom('untouched'), 'c1', 'alice', [['x', '0']]);
    const same = joinRequest(freshRoom('same'), 'c2', 'bob', [['x', '0']]);
    const changed = joinRequest(freshRoom('changed'), 'c3', 'carol', [['x', '0']]);
    for (const request of [untouched, same, changed]) await pods[0].store.join(request);
    // Setting a room's initial value again changes nothing; another value does.
    await pods[0].store.set(same.room, 'c2', 'x', '0');
    await pods[0].store.set(changed.room, 'c3', 'x', '1');
    for (const request of [untouched, same, changed]) await pods[0].store.leave(leaseOf(request));
    advance(5_001);
    expect(await pods[1].store.snapshot(untouched.room)).toBeNull();
    expect(await pods[1].store.snapshot(same.room)).toBeNull();
    expect(await pods[1].store.snapshot(changed.room)).not.toBeNull();
    advance(600_000);
    expect(await pods[1].store.snapshot(changed.room)).toBeNull();
  });

  it('gives a room changed after its members left the room ttl, counted from when it emptied', async () => {
    const { pods, advance } = await world({ untouchedRoomTtlMs: 5_000, roomTtlMs: 600_000 });
    const request = joinRequest(freshRoom(), 'c1', 'alice', null);
    await pods[0].store.join(request);
    await pods[0].store.leave(leaseOf(request));
    advance(2_000);
    // An operator's set, say: the room now holds a variable.
    expect(await pods[1].store.set(request.room, 'api', 'x', '1', { create: true })).toEqual({ ok: true, seq: 1 });
    advance(10_000);
    expect(await pods[0].store.snapshot(request.room)).not.toBeNull();
  });

  it('keeps a room through its first change when the room ttl is the shorter one', async () => {
    // Found by the soak: the first change took the untouched ttl off an expiry set with the
    // room ttl, moving the room's end into the past while its members were still in it.
    const { pods, advance } = await world({ untouchedRoomTtlMs: 600_000, roomTtlMs: 30_000 });
    const request = joinRequest(freshRoom(), 'c1', 'alice', [['x', '0']]);
    await pods[0].store.join(request);
    expect(await pods[0].store.set(request.room, 'c1', 'x', '1')).toEqual({ ok: true, seq: 1 });
    expect(await pods[1].store.set(request.room, 'c1', 'x', '2')).toEqual({ ok: true, seq: 2 });
    await pods[0].store.leave(leaseOf(request));
    advance(29_000);
    expect((await pods[1].store.snapshot(request.room))?.variables).toEqual([['x', '2']]);
    advance(2_000);
    expect(await pods[1].store.snapshot(request.room)).toBeNull();
  });
}
