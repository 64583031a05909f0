import { expect, it } from 'vitest';
import { until } from '@cloudvars/test-support/until';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, sorted } from './harness.ts';

type MakeWorld = (limits?: Partial<World['limits']>) => Promise<World>;

/**
 * What Scratch 3 clients need of a room: variables created by their first set, within the
 * room's variable limit and byte budget; rename and delete; usernames that are not held.
 */
export function changesContract(world: MakeWorld): void {
  it('creates a variable on a set that may create, up to maxVariables, and refuses one more without publishing it', async () => {
    const { pods } = await world({ maxVariables: 2 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    await pods[1].bus.subscribe([room]);
    expect(await pods[0].store.set(room, 'c1', 'x', '1')).toEqual({ ok: false, reason: 'unknown-variable' });
    expect(await pods[0].store.set(room, 'c1', 'x', '1', { create: true })).toEqual({ ok: true, seq: 1 });
    expect(await pods[0].store.set(room, 'c1', 'y', '2', { create: true })).toEqual({ ok: true, seq: 2 });
    expect(await pods[0].store.set(room, 'c1', 'z', '3', { create: true })).toEqual({ ok: false, reason: 'too-many-variables' });
    // An existing variable still takes values at the limit.
    expect(await pods[0].store.set(room, 'c1', 'x', '4', { create: true })).toEqual({ ok: true, seq: 3 });
    await until(() => pods[1].recorder.of(room).length === 3, { what: 'three events' });
    expect(await pods[1].bus.probe(2_000)).toBe(true);
    expect(pods[1].recorder.of(room).map(({ variable, value }) => [variable, value])).toEqual([
      ['x', '1'],
      ['y', '2'],
      ['x', '4'],
    ]);
    expect(sorted((await pods[1].store.snapshot(room))?.variables ?? [])).toEqual([
      ['x', '4'],
      ['y', '2'],
    ]);
  });

  it('refuses a set or rename that would take the room over maxRoomBytes (UTF-8 names and values), and accepts one that fits', async () => {
    // "☁ a" is 5 bytes in UTF-8: the budget holds it with a 5-byte value, not a 6-byte one.
    const { pods } = await world({ maxRoomBytes: 10 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    expect(await pods[0].store.set(room, 'c1', '☁ a', '123456', { create: true })).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[0].store.set(room, 'c1', '☁ a', '12345', { create: true })).toEqual({ ok: true, seq: 1 });
    expect(await pods[0].store.set(room, 'c1', 'b', '', { create: true })).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[0].store.set(room, 'c1', '☁ a', '1', { create: true })).toEqual({ ok: true, seq: 2 });
    expect(await pods[0].store.set(room, 'c1', 'b', '123', { create: true })).toEqual({ ok: true, seq: 3 });
    expect(await pods[0].store.rename(room, 'c1', 'b', 'bb')).toEqual({ ok: false, reason: 'over-budget' });
    // Deleting frees its bytes for the next value.
    expect(await pods[1].store.delete(room, 'c1', 'b')).toEqual({ ok: true, seq: 4 });
    expect(await pods[1].store.set(room, 'c1', '☁ a', '12345', { create: true })).toEqual({ ok: true, seq: 5 });
  });

  it('counts a declared room against the budget from its creation', async () => {
    const { pods } = await world({ maxRoomBytes: 8 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '1234567']]));
    expect(await pods[0].store.set(room, 'c1', 'x', '12345678')).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[0].store.set(room, 'c1', 'x', '7654321')).toEqual({ ok: true, seq: 1 });
  });

  it('renames a variable keeping its value, publishes the rename in order, and refuses a taken or unknown name', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(
      joinRequest(room, 'c1', 'alice', [
        ['x', '1'],
        ['y', '2'],
      ]),
    );
    await pods[1].bus.subscribe([room]);
    expect(await pods[0].store.rename(room, 'c1', 'x', 'y')).toEqual({ ok: false, reason: 'name-taken' });
    expect(await pods[0].store.rename(room, 'c1', 'nope', 'z')).toEqual({ ok: false, reason: 'unknown-variable' });
    expect(await pods[0].store.rename(freshRoom(), 'c1', 'x', 'z')).toEqual({ ok: false, reason: 'unknown-room' });
    expect(await pods[0].store.rename(room, 'c1', 'x', 'z')).toEqual({ ok: true, seq: 1 });
    expect(await pods[0].store.set(room, 'c1', 'z', '3')).toEqual({ ok: true, seq: 2 });
    await until(() => pods[1].recorder.all(room).length === 2, { what: 'the rename and the set' });
    const [renamed, set] = pods[1].recorder.all(room);
    expect(renamed).toMatchObject({ type: 'rename', seq: 1, origin: 'c1', variable: 'x', newName: 'z' });
    expect(set).toMatchObject({ type: 'set', seq: 2, variable: 'z', value: '3' });
    expect(sorted((await pods[1].store.snapshot(room))?.variables ?? [])).toEqual([
      ['y', '2'],
      ['z', '3'],
    ]);
  });

  it('deletes a variable, publishes the delete in order, frees its slot, and refuses an unknown one', async () => {
    const { pods } = await world({ maxVariables: 1 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '1']]));
    await pods[1].bus.subscribe([room]);
    expect(await pods[0].store.delete(room, 'c1', 'nope')).toEqual({ ok: false, reason: 'unknown-variable' });
    expect(await pods[0].store.delete(freshRoom(), 'c1', 'x')).toEqual({ ok: false, reason: 'unknown-room' });
    expect(await pods[0].store.delete(room, 'c1', 'x')).toEqual({ ok: true, seq: 1 });
    expect(await pods[0].store.set(room, 'c1', 'x', '2')).toEqual({ ok: false, reason: 'unknown-variable' });
    expect(await pods[0].store.set(room, 'c1', 'w', '2', { create: true })).toEqual({ ok: true, seq: 2 });
    await until(() => pods[1].recorder.all(room).length === 2, { what: 'the delete and the set' });
    expect(pods[1].recorder.all(room)[0]).toMatchObject({ type: 'delete', seq: 1, variable: 'x' });
    expect((await pods[1].store.snapshot(room))?.variables).toEqual([['w', '2']]);
  });

  it('lets connections that do not claim their username share it, and holds nothing against a later claim', async () => {
    const { pods } = await world();
    const room = freshRoom();
    const unclaimed = (id: string) => ({ ...joinRequest(room, id, 'player1234', null), claimUsername: false });
    expect((await pods[0].store.join(unclaimed('c1'))).ok).toBe(true);
    expect((await pods[1].store.join(unclaimed('c2'))).ok).toBe(true);
    expect((await pods[0].store.join(joinRequest(room, 'c3', 'PLAYER1234', null))).ok).toBe(true);
    expect(await pods[0].store.join(joinRequest(room, 'c4', 'player1234', null))).toEqual({ ok: false, reason: 'username-taken' });
    expect(await pods[1].store.memberCount(room)).toBe(3);
  });
}
