import { expect, it } from 'vitest';
import { until } from '@cloudvars/test-support/until';
import { ACTION_HISTORY_LENGTH } from '../../src/actions.ts';
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
    expect(pods[1].recorder.all(room)).toEqual([expect.objectContaining({ type: 'set', seq: 1 }), { type: 'room-deleted', room, epoch, seq: 2, origin: 'op' }]);
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

  it("gives back the deleted room's active-room slot at once", async () => {
    const { pods } = await world({ maxRooms: 1 });
    const first = freshRoom();
    await pods[0].store.join(joinRequest(first, 'c1', 'alice'));
    const second = joinRequest(freshRoom(), 'c2', 'bob');
    expect(await pods[1].store.join(second)).toEqual({ ok: false, reason: 'too-many-rooms' });
    expect((await pods[1].store.deleteRoom(first, 'op')).ok).toBe(true);
    const created = await pods[1].store.join(second);
    expect(created.ok && created.outcome).toBe('created');
  });

  it("kicks in the room's order with the username lower-cased, changing nothing else", async () => {
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

  it('keeps kicks and the deletion for catch-up reads: those of the epoch after a seq, in order, the latest ACTION_HISTORY_LENGTH, past the room', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '0']]));
    const epoch = (await pods[0].store.snapshot(room))?.epoch as string;
    expect(await pods[1].store.catchUp(room, epoch, 0)).toEqual([]);
    await pods[0].store.set(room, 'c1', 'x', '1');
    await pods[0].store.kick(room, 'op', 'Alice');
    await pods[0].store.set(room, 'c1', 'x', '2');
    await pods[1].store.kick(room, 'op2', 'bob');
    // Sets are state (a snapshot holds them): only the actions are kept.
    expect(await pods[1].store.catchUp(room, epoch, 0)).toEqual([
      { type: 'kick', room, epoch, seq: 2, origin: 'op', username: 'alice' },
      { type: 'kick', room, epoch, seq: 4, origin: 'op2', username: 'bob' },
    ]);
    expect((await pods[0].store.catchUp(room, epoch, 2)).map((action) => action.seq)).toEqual([4]);
    expect(await pods[0].store.catchUp(room, 'another-epoch', 0)).toEqual([]);
    expect(await pods[0].store.catchUp(freshRoom(), epoch, 0)).toEqual([]);
    // Bounded: the latest ACTION_HISTORY_LENGTH.
    for (let i = 0; i < ACTION_HISTORY_LENGTH; i++) await pods[0].store.kick(room, 'op', `user${i}`);
    const kept = await pods[1].store.catchUp(room, epoch, 0);
    expect(kept).toHaveLength(ACTION_HISTORY_LENGTH);
    expect(kept[0]).toMatchObject({ seq: 5, username: 'user0' });
    // The deletion outlives the room's data, and a new epoch starts with nothing to catch up.
    const deleted = await pods[0].store.deleteRoom(room, 'op');
    expect(await pods[0].store.snapshot(room)).toBeNull();
    expect(await pods[1].store.catchUp(room, epoch, deleted.ok ? deleted.seq - 1 : 0)).toEqual([
      { type: 'room-deleted', room, epoch, seq: deleted.ok ? deleted.seq : -1, origin: 'op' },
    ]);
    const again = await pods[1].store.join(joinRequest(room, 'c2', 'carol', [['x', '0']]));
    expect(await pods[0].store.catchUp(room, again.ok ? again.snapshot.epoch : '', 0)).toEqual([]);
  });
}
