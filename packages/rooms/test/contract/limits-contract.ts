import { expect, it } from 'vitest';
import type { EngineLimits } from '../../src/ports.ts';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, leaseOf } from './harness.ts';

type MakeWorld = (limits?: Partial<EngineLimits>) => Promise<World>;

/** Each limit refusal, their order, and that refusals record nothing. */
export function limitsContract(world: MakeWorld): void {
  it('refuses room-full at maxClientsPerRoom live members and accepts again after a leave', async () => {
    const { pods } = await world({ maxClientsPerRoom: 2 });
    const room = freshRoom();
    const first = joinRequest(room, 'c1', 'alice');
    await pods[0].store.join(first);
    await pods[1].store.join(joinRequest(room, 'c2', 'bob'));
    expect(await pods[1].store.join(joinRequest(room, 'c3', 'carol'))).toEqual({ ok: false, reason: 'room-full' });
    expect(await pods[0].store.memberCount(room)).toBe(2);
    await pods[0].store.leave(leaseOf(first));
    expect((await pods[1].store.join(joinRequest(room, 'c4', 'carol'))).ok).toBe(true);
  });

  it('refuses too-many-rooms for an inactive room at maxRooms active rooms, but still admits to active ones', async () => {
    const { pods } = await world({ maxRooms: 2 });
    const [r1, r2, r3] = [freshRoom(), freshRoom(), freshRoom()];
    await pods[0].store.join(joinRequest(r1, 'c1', 'alice'));
    const inR2 = joinRequest(r2, 'c2', 'bob');
    await pods[1].store.join(inR2);
    expect(await pods[0].store.join(joinRequest(r3, 'c3', 'carol'))).toEqual({ ok: false, reason: 'too-many-rooms' });
    expect(await pods[0].store.snapshot(r3)).toBeNull();
    expect((await pods[1].store.join(joinRequest(r1, 'c4', 'dave'))).ok).toBe(true);
    await pods[1].store.leave(leaseOf(inR2));
    const created = await pods[0].store.join(joinRequest(r3, 'c5', 'carol'));
    expect(created.ok && created.outcome).toBe('created');
  });

  it('refuses address-limit at maxConnectionsPerAddress live leases across rooms and pods', async () => {
    const { pods } = await world({ maxConnectionsPerAddress: 2 });
    const first = joinRequest(freshRoom(), 'c1', 'alice', [['x', '0']], '10.1.1.1');
    await pods[0].store.join(first);
    await pods[1].store.join(joinRequest(freshRoom(), 'c2', 'alice', [['x', '0']], '10.1.1.1'));
    const third = joinRequest(freshRoom(), 'c3', 'alice', [['x', '0']], '10.1.1.1');
    expect(await pods[0].store.join(third)).toEqual({ ok: false, reason: 'address-limit' });
    expect(await pods[0].store.memberCount(third.room)).toBe(0);
    expect((await pods[0].store.join({ ...third, connectionId: 'c4', address: '10.2.2.2' })).ok).toBe(true);
    await pods[1].store.leave(leaseOf(first));
    expect((await pods[1].store.join({ ...third, connectionId: 'c5', username: 'bob' })).ok).toBe(true);
  });

  it('checks username before room capacity', async () => {
    const { pods } = await world({ maxClientsPerRoom: 1 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice'));
    expect(await pods[1].store.join(joinRequest(room, 'c2', 'ALICE'))).toEqual({ ok: false, reason: 'username-taken' });
    expect(await pods[1].store.join(joinRequest(room, 'c3', 'bob'))).toEqual({ ok: false, reason: 'room-full' });
  });

  it('checks room capacity before the address limit', async () => {
    const { pods } = await world({ maxClientsPerRoom: 1, maxConnectionsPerAddress: 1 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '0']], '10.1.1.1'));
    const bob = joinRequest(room, 'c2', 'bob', [['x', '0']], '10.1.1.1');
    expect(await pods[1].store.join(bob)).toEqual({ ok: false, reason: 'room-full' });
  });

  it('checks the active-room limit before the address limit', async () => {
    const { pods } = await world({ maxRooms: 1, maxConnectionsPerAddress: 1 });
    await pods[0].store.join(joinRequest(freshRoom(), 'c1', 'alice', [['x', '0']], '10.1.1.1'));
    const elsewhere = joinRequest(freshRoom(), 'c2', 'bob', [['x', '0']], '10.1.1.1');
    expect(await pods[1].store.join(elsewhere)).toEqual({ ok: false, reason: 'too-many-rooms' });
  });

  it('checks the address limit before variable names', async () => {
    const { pods } = await world({ maxConnectionsPerAddress: 1 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '0']], '10.1.1.1'));
    const mismatched = joinRequest(room, 'c2', 'bob', [['y', '0']], '10.1.1.1');
    expect(await pods[1].store.join(mismatched)).toEqual({ ok: false, reason: 'address-limit' });
    expect(await pods[1].store.join({ ...mismatched, address: '10.2.2.2' })).toEqual({
      ok: false,
      reason: 'variables-mismatch',
    });
  });

  it('refuses to create a room for a join that may not (room-creation-limit), but lets it into an existing one', async () => {
    const { pods } = await world();
    const existing = freshRoom();
    await pods[0].store.join(joinRequest(existing, 'c1', 'alice'));
    const fresh = freshRoom();
    expect(await pods[1].store.join({ ...joinRequest(fresh, 'c2', 'bob'), mayCreate: false })).toEqual({ ok: false, reason: 'room-creation-limit' });
    expect(await pods[1].store.snapshot(fresh)).toBeNull();
    const joined = await pods[1].store.join({ ...joinRequest(existing, 'c3', 'carol'), mayCreate: false });
    expect(joined.ok && joined.outcome).toBe('joined');
  });
}
