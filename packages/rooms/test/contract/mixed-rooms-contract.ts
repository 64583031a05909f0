import { expect, it } from 'vitest';
import { until } from '@cloudvars/test-support/until';
import type { EngineLimits, RoomStore } from '../../src/ports.ts';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, leaseOf, sorted } from './harness.ts';

type MakeWorld = (limits?: Partial<EngineLimits>) => Promise<World>;

/**
 * Rooms of both eras (ports.ts, JoinRequest.variables): a room only 2020 clients wrote to
 * keeps the spec's rule (4001 while someone is connected, migration when nobody is); once
 * anything else wrote to it (a today's client, an operator, a rename or delete) a 2020 join
 * deletes nothing and is refused for nobody else's names: the names it lacks are added.
 */
export function mixedRoomsContract(world: MakeWorld): void {
  it("keeps what a today's client made when a 2020 client declaring other names joins the empty room: its names are added, the rest stay", async () => {
    const { pods } = await world();
    const room = freshRoom();
    const owner = { ...joinRequest(room, 'c1', 'owner', null), claimUsername: false };
    await pods[0].store.join(owner);
    await pods[0].store.set(room, 'c1', '☁ highscore', '987654', { create: true, user: 'owner' });
    await pods[0].store.set(room, 'c1', '☁ level', '42', { create: true, user: 'owner' });
    await pods[0].store.leave(leaseOf(owner));
    const joined = await pods[1].store.join(joinRequest(room, 'c2', 'visitor', [['☁ x', '0']]));
    expect(joined.ok && joined.outcome).toBe('extended');
    expect(joined.ok && sorted(joined.snapshot.variables)).toEqual([
      ['☁ highscore', '987654'],
      ['☁ level', '42'],
      ['☁ x', '0'],
    ]);
    const log = (await pods[0].store.log(room, 10)) ?? [];
    expect(log.map(({ user, verb, name, value }) => [user, verb, name, value])).toEqual([
      ['visitor', 'set', '☁ x', '0'],
      ['owner', 'set', '☁ level', '42'],
      ['owner', 'set', '☁ highscore', '987654'],
    ]);
  });

  const writes: ReadonlyArray<[string, (store: RoomStore, room: string) => Promise<unknown>]> = [
    ["a today's client's set", (store, room) => store.set(room, 'c9', 'junk', '1', { create: true, user: 'player1' })],
    ["an operator's set", (store, room) => store.set(room, 'op', 'a', '5', { create: true, user: 'ops' })],
    ['a rename', (store, room) => store.rename(room, 'c9', 'b', 'b2', { user: 'player1' })],
    ['a delete', (store, room) => store.delete(room, 'c9', 'b', { user: 'player1' })],
  ];

  it.each(writes)(
    'lets every 2020 client in, whatever names it declares, once %s changed the room, even with a 2020 member connected',
    async (_what, write) => {
      const { pods } = await world();
      const room = freshRoom();
      await pods[0].store.join(
        joinRequest(room, 'c1', 'alice', [
          ['a', '1'],
          ['b', '2'],
        ]),
      );
      await write(pods[0].store, room);
      const carol = await pods[1].store.join(
        joinRequest(room, 'c2', 'carol', [
          ['a', '0'],
          ['b', '0'],
        ]),
      );
      expect(carol.ok).toBe(true);
      const dave = await pods[1].store.join(
        joinRequest(room, 'c3', 'dave', [
          ['a', '0'],
          ['z', '7'],
        ]),
      );
      expect(dave.ok && dave.outcome).toBe('extended');
      const names = (dave.ok ? dave.snapshot.variables : []).map(([name]) => name);
      expect(names).toEqual(expect.arrayContaining(['a', 'b', 'z']));
      expect(await pods[0].store.memberCount(room)).toBe(3);
    },
  );

  it("keeps the spec's rule in a room only 2020 clients wrote to, even after a today's client joined it: mismatch while someone is connected, migration when nobody is", async () => {
    const { pods } = await world();
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice', [['a', '1']]);
    const reader = { ...joinRequest(room, 'c2', 'reader', null), claimUsername: false };
    await pods[0].store.join(alice);
    expect((await pods[1].store.join(reader)).ok).toBe(true);
    expect(await pods[0].store.set(room, 'c1', 'a', '2', { user: 'alice' })).toEqual({ ok: true, seq: 1 });
    expect(await pods[1].store.join(joinRequest(room, 'c3', 'bob', [['b', '0']]))).toEqual({ ok: false, reason: 'variables-mismatch' });
    await pods[0].store.leave(leaseOf(alice));
    await pods[1].store.leave(leaseOf(reader));
    const bob = await pods[1].store.join(joinRequest(room, 'c3', 'bob', [['b', '0']]));
    expect(bob.ok && bob.outcome).toBe('migrated');
    expect(bob.ok && bob.snapshot.variables).toEqual([['b', '0']]);
  });

  it("publishes the names a 2020 join adds as sets in the room's order, and its snapshot is taken after them", async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join({ ...joinRequest(room, 'c1', 'player1', null), claimUsername: false });
    await pods[1].bus.subscribe([room]);
    await pods[0].store.set(room, 'c1', 'a', '1', { create: true });
    const bob = await pods[0].store.join(
      joinRequest(room, 'c2', 'bob', [
        ['b', '5'],
        ['a', '0'],
        ['c', '6'],
      ]),
    );
    expect(bob.ok && bob.outcome).toBe('extended');
    expect(bob.ok && bob.snapshot.seq).toBe(3);
    expect(bob.ok && sorted(bob.snapshot.variables)).toEqual([
      ['a', '1'],
      ['b', '5'],
      ['c', '6'],
    ]);
    await until(() => pods[1].recorder.all(room).length === 3, { what: 'the set and the two added names' });
    expect(pods[1].recorder.all(room).map((event) => [event.type, event.seq, event.origin, event.variable])).toEqual([
      ['set', 1, 'c1', 'a'],
      ['set', 2, 'c2', 'b'],
      ['set', 3, 'c2', 'c'],
    ]);
    // Names it declared that the room has change nothing: no event, no log entry.
    const again = await pods[1].store.join(
      joinRequest(room, 'c3', 'carol', [
        ['c', '0'],
        ['a', '0'],
      ]),
    );
    expect(again.ok && again.outcome).toBe('joined');
    expect(again.ok && again.snapshot.seq).toBe(3);
  });

  it('refuses a 2020 join whose added names would exceed maxVariables or maxRoomBytes, changing nothing', async () => {
    const { pods } = await world({ maxVariables: 3, maxRoomBytes: 20 });
    const room = freshRoom();
    await pods[0].store.join({ ...joinRequest(room, 'c1', 'player1', null), claimUsername: false });
    await pods[0].store.set(room, 'c1', 'x', '1', { create: true });
    await pods[0].store.set(room, 'c1', 'y', '1', { create: true });
    const before = await pods[0].store.snapshot(room);
    expect(
      await pods[1].store.join(
        joinRequest(room, 'c2', 'bob', [
          ['a', '0'],
          ['b', '0'],
        ]),
      ),
    ).toEqual({ ok: false, reason: 'too-many-variables' });
    // 4 bytes held: a 16-byte name with "0" is one byte too many.
    expect(
      await pods[1].store.join(
        joinRequest(room, 'c3', 'carol', [
          ['x', '0'],
          ['b'.repeat(16), '0'],
        ]),
      ),
    ).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[1].store.snapshot(room)).toEqual(before);
    expect(await pods[1].store.memberCount(room)).toBe(1);
    const fits = await pods[1].store.join(
      joinRequest(room, 'c4', 'dave', [
        ['x', '0'],
        ['b'.repeat(15), '123'],
      ]),
    );
    expect(fits.ok && sorted(fits.snapshot.variables)).toEqual([
      ['b'.repeat(15), '0'],
      ['x', '1'],
      ['y', '1'],
    ]);
  });
}
