import { expect, it } from 'vitest';
import type { EngineLimits } from '../../src/ports.ts';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, leaseOf, sorted } from './harness.ts';

type MakeWorld = (limits?: Partial<EngineLimits>) => Promise<World>;

/**
 * The room's byte budget (`maxRoomBytes`, names and values in UTF-8) and `maxVariables` hold
 * on every way into a room: a 2020 creation, a migration, a set, a rename; and a change that
 * does not grow a room always applies, so a room over the budget can shrink.
 */
export function budgetContract(world: MakeWorld): void {
  it('stores a 2020 creation within maxRoomBytes: an initial value that does not fit is stored as "0", in the order declared', async () => {
    // With "0" each name costs 2 bytes: 6 of 40. Then a (10 bytes) fits, b (30) would not, c (2) does.
    const { pods } = await world({ maxRoomBytes: 40 });
    const room = freshRoom();
    const created = await pods[0].store.join(
      joinRequest(room, 'c1', 'alice', [
        ['a', '1234567890'],
        ['b', '9'.repeat(30)],
        ['c', '12'],
      ]),
    );
    expect(created.ok && created.outcome).toBe('created');
    expect(created.ok && sorted(created.snapshot.variables)).toEqual([
      ['a', '1234567890'],
      ['b', '0'],
      ['c', '12'],
    ]);
    // 16 bytes stored: b may grow by the 24 left, and no more.
    expect(await pods[1].store.set(room, 'c1', 'b', '9'.repeat(26))).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[1].store.set(room, 'c1', 'b', '9'.repeat(25))).toEqual({ ok: true, seq: 1 });
  });

  it('refuses a 2020 creation whose names alone (each with "0") exceed maxRoomBytes, or that declares more than maxVariables, creating nothing', async () => {
    const { pods } = await world({ maxRoomBytes: 10, maxVariables: 2 });
    const wide = freshRoom();
    expect(await pods[0].store.join(joinRequest(wide, 'c1', 'alice', [['abcdefghij', '1']]))).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[1].store.snapshot(wide)).toBeNull();
    const many = freshRoom();
    expect(
      await pods[0].store.join(
        joinRequest(many, 'c2', 'alice', [
          ['a', '1'],
          ['b', '1'],
          ['c', '1'],
        ]),
      ),
    ).toEqual({ ok: false, reason: 'too-many-variables' });
    expect(await pods[1].store.snapshot(many)).toBeNull();
    expect(await pods[1].store.memberCount(many)).toBe(0);
  });

  it('holds the budget in a migration: kept names keep their stored values, removed ones free theirs, new ones take their value only where it fits', async () => {
    const { pods } = await world({ maxRoomBytes: 30 });
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice', [
      ['keep', '12345'],
      ['gone', '1234567890'],
    ]);
    await pods[0].store.join(alice);
    await pods[0].store.leave(leaseOf(alice));
    // keep (9) + new with "0" (4) + big with "0" (4) = 17 of 30: new takes 10 more (27), big cannot take 19.
    const migrated = await pods[1].store.join(
      joinRequest(room, 'c2', 'bob', [
        ['keep', '0'],
        ['new', '12345678901'],
        ['big', '9'.repeat(20)],
      ]),
    );
    expect(migrated.ok && migrated.outcome).toBe('migrated');
    expect(migrated.ok && sorted(migrated.snapshot.variables)).toEqual([
      ['big', '0'],
      ['keep', '12345'],
      ['new', '12345678901'],
    ]);
    expect(await pods[0].store.set(room, 'c2', 'big', '1234')).toEqual({ ok: true, seq: expect.any(Number) as number });
    expect(await pods[0].store.set(room, 'c2', 'big', '12345')).toEqual({ ok: false, reason: 'over-budget' });
  });

  it('refuses a migration whose new names alone exceed maxRoomBytes, changing nothing', async () => {
    const { pods } = await world({ maxRoomBytes: 12 });
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice', [['a', '1234567890']]);
    await pods[0].store.join(alice);
    await pods[0].store.leave(leaseOf(alice));
    const before = await pods[0].store.snapshot(room);
    expect(
      await pods[1].store.join(
        joinRequest(room, 'c2', 'bob', [
          ['a', '0'],
          ['bb', '0'],
        ]),
      ),
    ).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[1].store.snapshot(room)).toEqual(before);
    expect(await pods[1].store.memberCount(room)).toBe(0);
  });

  it('applies a set or rename that does not grow a room over maxRoomBytes (lowered under it), and refuses one that grows it', async () => {
    const { pods, relimit } = await world({ maxRoomBytes: 100 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    expect(await pods[0].store.set(room, 'c1', 'name', '9'.repeat(40), { create: true })).toEqual({ ok: true, seq: 1 });
    expect(await pods[0].store.set(room, 'c1', 'other', '9'.repeat(40), { create: true })).toEqual({ ok: true, seq: 2 });
    relimit({ maxRoomBytes: 20 });
    // 89 bytes held, 20 allowed: growing is refused, the same size or smaller applies.
    expect(await pods[1].store.set(room, 'c1', 'name', '9'.repeat(41))).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[1].store.set(room, 'c1', 'name', '8'.repeat(40))).toEqual({ ok: true, seq: 3 });
    expect(await pods[1].store.set(room, 'c1', 'name', '1')).toEqual({ ok: true, seq: 4 });
    expect(await pods[1].store.set(room, 'c1', 'new', '1', { create: true })).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[0].store.rename(room, 'c1', 'other', 'other2')).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[0].store.rename(room, 'c1', 'other', 'o')).toEqual({ ok: true, seq: 5 });
    expect(sorted((await pods[0].store.snapshot(room))?.variables ?? [])).toEqual([
      ['name', '1'],
      ['o', '9'.repeat(40)],
    ]);
    // Shrunk under the budget, it grows again up to it.
    expect(await pods[0].store.set(room, 'c1', 'o', '1')).toEqual({ ok: true, seq: 6 });
    expect(await pods[0].store.set(room, 'c1', 'name', '1234567890')).toEqual({ ok: true, seq: 7 });
  });
}
