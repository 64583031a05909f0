import { expect, it } from 'vitest';
import { until } from '@cloudvars/test-support/until';
import type { EngineLimits } from '../../src/ports.ts';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, leaseOf } from './harness.ts';

type MakeWorld = (limits?: Partial<EngineLimits>) => Promise<World>;

/** An operator's deleteRoom and kick: events in the room's order, and what each leaves behind. */
export function roomActionsContract(world: MakeWorld): void {
  it('deletes a room after its last change in its order: the event, then no variables, log, members or usernames', async () => {
    const { pods } = await world();
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice', [['x', '0']]);
    await pods[0].store.join(alice);
    await pods[1].store.join(joinRequest(room, 'c2', 'bob', [['x', '0']]));
    await pods[1].bus.subscribe([room]);
    const epoch = (await pods[0].store.snapshot(room))?.epoch;
    expect(await pods[0].store.set(room, 'c1', 'x', '5', { user: 'alice' })).toEqual({ ok: true, seq: 1 });
    expect(await pods[0].store.deleteRoom(room, 'op')).toEqual({ ok: true, seq: 2 });
    await until(() => pods[1].recorder.all(room).length === 2, { what: 'the set and the deletion' });
    expect(pods[1].recorder.all(room)).toEqual([
      expect.objectContaining({ type: 'set', seq: 1 }),
      { type: 'room-deleted', room, epoch, seq: 2, origin: 'op' },
    ]);
    expect(await pods[1].store.snapshot(room)).toBeNull();
    expect(await pods[1].store.log(room, 10)).toBeNull();
    expect(await pods[1].store.memberCount(room)).toBe(0);
    expect(await pods[1].store.set(room, 'c1', 'x', '6')).toEqual({ ok: false, reason: 'unknown-room' });
    // The members' leaves find nothing to give back; the room is created anew, in a new epoch.
    await pods[0].store.leave(leaseOf(alice));
    const again = await pods[1].store.join(joinRequest(room, 'c3', 'ALICE', [['x', '1']]));
    expect(again.ok && again.outcome).toBe('created');
    expect(again.ok && again.snapshot.epoch).not.toBe(epoch);
    expect(again.ok && again.snapshot.variables).toEqual([['x', '1']]);
    expect(await pods[0].store.log(room, 10)).toEqual([]);
  });

  it('gives back the deleted room\'s active-room slot at once', async () => {
    const { pods } = await world({ maxRooms: 1 });
    const first = freshRoom();
    await pods[0].store.join(joinRequest(first, 'c1', 'alice'));
    const second = joinRequest(freshRoom(), 'c2', 'bob');
    expect(await pods[1].store.join(second)).toEqual({ ok: false, reason: 'too-many-rooms' });
    expect((await pods[1].store.deleteRoom(first, 'op')).ok).toBe(true);
    const created = await pods[1].store.join(second);
    expect(created.ok && created.outcome).toBe('created');
  });

  it('kicks in the room\'s order with the username lower-cased, changing nothing else', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '0']]));
    await pods[1].bus.subscribe([room]);
    await pods[0].store.set(room, 'c1', 'x', '3');
    const before = await pods[0].store.snapshot(room);
    expect(await pods[1].store.kick(room, 'op', 'AlIcE')).toEqual({ ok: true, seq: 2 });
    await until(() => pods[1].recorder.all(room).length === 2, { what: 'the set and the kick' });
    expect(pods[1].recorder.all(room)[1]).toEqual({ type: 'kick', room, epoch: before?.epoch, seq: 2, origin: 'op', username: 'alice' });
    expect(await pods[0].store.snapshot(room)).toEqual({ ...before, seq: 2 });
    expect(await pods[0].store.memberCount(room)).toBe(1);
    expect(await pods[0].store.log(room, 10)).toHaveLength(1);
  });

  it('refuses to delete or kick in a room that does not exist, and publishes nothing', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[1].bus.subscribe([room]);
    expect(await pods[0].store.deleteRoom(room, 'op')).toEqual({ ok: false, reason: 'unknown-room' });
    expect(await pods[0].store.kick(room, 'op', 'alice')).toEqual({ ok: false, reason: 'unknown-room' });
    expect(await pods[1].bus.probe(2_000)).toBe(true);
    expect(pods[1].recorder.all(room)).toEqual([]);
    expect(await pods[0].store.snapshot(room)).toBeNull();
  });
}
