import { expect, it } from 'vitest';
import { until } from '@cloudvars/test-support/until';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, leaseOf, normalized, sorted } from './harness.ts';

type MakeWorld = () => Promise<World>;

/** Creation, joining, migration and usernames. */
export function joinContract(world: MakeWorld): void {
  it('creates an absent room with the request variables at seq 0', async () => {
    const { pods } = await world();
    const room = freshRoom();
    const result = await pods[0].store.join(
      joinRequest(room, 'c1', 'alice', [
        ['x', '1'],
        ['y', '2'],
      ]),
    );
    expect(result.ok && result.outcome).toBe('created');
    if (!result.ok) return;
    expect(result.snapshot.seq).toBe(0);
    expect(result.snapshot.epoch).not.toBe('');
    expect(sorted(result.snapshot.variables)).toEqual([
      ['x', '1'],
      ['y', '2'],
    ]);
    expect(normalized(await pods[1].store.snapshot(room))).toEqual(normalized(result.snapshot));
    expect(await pods[1].store.memberCount(room)).toBe(1);
  });

  it('creates an empty room for a client that declares no variables, and lets such a client into a room with any names', async () => {
    const { pods } = await world();
    const empty = freshRoom();
    const created = await pods[0].store.join(joinRequest(empty, 'c1', 'alice', null));
    expect(created.ok && created.outcome).toBe('created');
    expect(created.ok && created.snapshot.variables).toEqual([]);
    expect(normalized(await pods[1].store.snapshot(empty))).toMatchObject({ seq: 0, variables: [] });

    const room = freshRoom();
    await pods[0].store.join(
      joinRequest(room, 'c2', 'bob', [
        ['x', '1'],
        ['y', '2'],
      ]),
    );
    const joined = await pods[1].store.join(joinRequest(room, 'c3', 'carol', null));
    expect(joined.ok && joined.outcome).toBe('joined');
    expect(joined.ok && sorted(joined.snapshot.variables)).toEqual([
      ['x', '1'],
      ['y', '2'],
    ]);
    expect(await pods[0].store.memberCount(room)).toBe(2);
  });

  it('returns null and zero members for a room that does not exist', async () => {
    const { pods } = await world();
    expect(await pods[0].store.snapshot(freshRoom())).toBeNull();
    expect(await pods[0].store.memberCount(freshRoom())).toBe(0);
  });

  it('snapshots hold every stored value and the seq of the last applied set', async () => {
    const { pods } = await world();
    const room = freshRoom();
    const created = await pods[0].store.join(
      joinRequest(room, 'c1', 'alice', [
        ['x', '1'],
        ['y', '2'],
      ]),
    );
    expect(await pods[0].store.set(room, 'c1', 'x', '3')).toEqual({ ok: true, seq: 1 });
    expect(await pods[1].store.set(room, 'c1', 'y', '4')).toEqual({ ok: true, seq: 2 });
    const snapshot = await pods[1].store.snapshot(room);
    expect(snapshot?.seq).toBe(2);
    expect(snapshot?.epoch).toBe(created.ok ? created.snapshot.epoch : 'unreachable');
    expect(sorted(snapshot?.variables ?? [])).toEqual([
      ['x', '3'],
      ['y', '4'],
    ]);
  });

  it('joins a room with the same names in any order, returning stored values and changing nothing', async () => {
    const { pods } = await world();
    const room = freshRoom();
    const created = await pods[0].store.join(
      joinRequest(room, 'c1', 'alice', [
        ['x', '1'],
        ['y', '2'],
      ]),
    );
    await pods[0].store.set(room, 'c1', 'x', '5');
    const joined = await pods[1].store.join(
      joinRequest(room, 'c2', 'bob', [
        ['y', '0'],
        ['x', '0'],
      ]),
    );
    expect(joined.ok && joined.outcome).toBe('joined');
    if (!joined.ok || !created.ok) return;
    expect(joined.snapshot.epoch).toBe(created.snapshot.epoch);
    expect(joined.snapshot.seq).toBe(1);
    expect(sorted(joined.snapshot.variables)).toEqual([
      ['x', '5'],
      ['y', '2'],
    ]);
    expect(normalized(await pods[0].store.snapshot(room))).toEqual(normalized(joined.snapshot));
    expect(await pods[0].store.memberCount(room)).toBe(2);
  });

  it('refuses variables-mismatch when the names differ and a member is live, changing nothing', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '1']]));
    const before = await pods[0].store.snapshot(room);
    const superset = await pods[1].store.join(
      joinRequest(room, 'c2', 'bob', [
        ['x', '1'],
        ['y', '2'],
      ]),
    );
    const other = await pods[1].store.join(joinRequest(room, 'c3', 'carol', [['z', '1']]));
    expect(superset).toEqual({ ok: false, reason: 'variables-mismatch' });
    expect(other).toEqual({ ok: false, reason: 'variables-mismatch' });
    expect(await pods[0].store.snapshot(room)).toEqual(before);
    expect(await pods[0].store.memberCount(room)).toBe(1);
  });

  it('migrates a room nobody is in: shared names keep values, new names take the request, removed go, as changes in its order', async () => {
    const { pods } = await world();
    const room = freshRoom();
    const request = joinRequest(room, 'c1', 'alice', [
      ['x', '1'],
      ['y', '2'],
    ]);
    const created = await pods[0].store.join(request);
    await pods[0].store.set(room, 'c1', 'x', '5');
    await pods[0].store.set(room, 'c1', 'y', '6');
    await pods[0].store.leave(leaseOf(request));
    // A pod still mirroring the room (a lingering room, a live viewer) learns of it from the bus.
    await pods[0].bus.subscribe([room]);
    const migrated = await pods[1].store.join(
      joinRequest(room, 'c2', 'bob', [
        ['y', '0'],
        ['z', '9'],
      ]),
    );
    expect(migrated.ok && migrated.outcome).toBe('migrated');
    if (!migrated.ok || !created.ok) return;
    expect(migrated.snapshot.epoch).toBe(created.snapshot.epoch);
    expect(migrated.snapshot.seq).toBe(4);
    expect(sorted(migrated.snapshot.variables)).toEqual([
      ['y', '6'],
      ['z', '9'],
    ]);
    expect(normalized(await pods[0].store.snapshot(room))).toEqual(normalized(migrated.snapshot));
    await until(() => pods[0].recorder.all(room).length === 2, { what: 'the migration' });
    expect(pods[0].recorder.all(room)).toEqual([
      { type: 'delete', room, epoch: created.snapshot.epoch, seq: 3, origin: 'c2', variable: 'x' },
      { type: 'set', room, epoch: created.snapshot.epoch, seq: 4, origin: 'c2', variable: 'z', value: '9' },
    ]);
    const log = (await pods[0].store.log(room, 2)) ?? [];
    expect(log.map(({ user, verb, name, value }) => [user, verb, name, value])).toEqual([
      ['bob', 'set', 'z', '9'],
      ['bob', 'delete', 'x', ''],
    ]);
    expect(await pods[0].store.set(room, 'c2', 'x', '1')).toEqual({ ok: false, reason: 'unknown-variable' });
    const next = await pods[0].store.join(
      joinRequest(room, 'c3', 'carol', [
        ['z', '0'],
        ['y', '0'],
      ]),
    );
    expect(next.ok && next.outcome).toBe('joined');
  });

  it('refuses a username a live member of the room holds, case-insensitively, on any pod', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'Alice'));
    expect(await pods[1].store.join(joinRequest(room, 'c2', 'aLICE'))).toEqual({ ok: false, reason: 'username-taken' });
    expect(await pods[0].store.join(joinRequest(room, 'c3', 'alice'))).toEqual({ ok: false, reason: 'username-taken' });
    expect(await pods[0].store.memberCount(room)).toBe(1);
    const elsewhere = await pods[1].store.join(joinRequest(freshRoom(), 'c4', 'ALICE'));
    expect(elsewhere.ok).toBe(true);
  });

  it('frees the username on leave, and leave is idempotent', async () => {
    const { pods } = await world();
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'Alice');
    await pods[0].store.join(alice);
    await pods[0].store.join(joinRequest(room, 'c2', 'carol'));
    await pods[0].store.leave(leaseOf(alice));
    await pods[1].store.leave(leaseOf(alice));
    expect(await pods[0].store.memberCount(room)).toBe(1);
    const again = await pods[1].store.join(joinRequest(room, 'c3', 'ALICE'));
    expect(again.ok && again.outcome).toBe('joined');
    expect(await pods[0].store.memberCount(room)).toBe(2);
  });
}
