import { expect, it } from 'vitest';
import { until } from '@cloudvars/test-support/until';
import { ROOM_BASE_BYTES } from '../../src/stored-bytes.ts';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, sorted } from './harness.ts';

type MakeWorld = (limits?: Partial<World['limits']>) => Promise<World>;

/** RoomStore.setMany: several sets of one origin as one atomic step, each as `set` would apply it. */
export function setManyContract(world: MakeWorld): void {
  it('applies a batch in order with the next seqs, publishing each set as its own event to every pod and logging each', async () => {
    const { pods } = await world({ logLength: 10 });
    const room = freshRoom();
    const joined = await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    await pods[1].bus.subscribe([room]);
    expect(await pods[0].store.set(room, 'c1', 'a', '1', { create: true, user: 'alice' })).toEqual({ ok: true, seq: 1 });
    const changes = [
      { variable: 'a', value: '2' },
      { variable: 'b', value: '3' },
      { variable: 'a', value: '4' },
    ];
    expect(await pods[0].store.setMany(room, 'c1', changes, { create: true, user: 'alice' })).toEqual([
      { ok: true, seq: 2 },
      { ok: true, seq: 3 },
      { ok: true, seq: 4 },
    ]);
    await until(() => pods[1].recorder.of(room).length === 4, { what: 'four set events' });
    const epoch = joined.ok ? joined.snapshot.epoch : '';
    expect(pods[1].recorder.of(room).slice(1)).toEqual([
      { type: 'set', room, epoch, seq: 2, origin: 'c1', variable: 'a', value: '2' },
      { type: 'set', room, epoch, seq: 3, origin: 'c1', variable: 'b', value: '3' },
      { type: 'set', room, epoch, seq: 4, origin: 'c1', variable: 'a', value: '4' },
    ]);
    const snapshot = await pods[1].store.snapshot(room);
    expect(snapshot?.seq).toBe(4);
    expect(sorted(snapshot?.variables ?? [])).toEqual([
      ['a', '4'],
      ['b', '3'],
    ]);
    expect(((await pods[1].store.log(room, 10)) ?? []).map(({ user, verb, name, value }) => [user, verb, name, value])).toEqual([
      ['alice', 'set', 'a', '4'],
      ['alice', 'set', 'b', '3'],
      ['alice', 'set', 'a', '2'],
      ['alice', 'set', 'a', '1'],
    ]);
  });

  it('judges each set of a batch at its turn: a refused one changes nothing and the rest still apply, seeing the earlier ones', async () => {
    const { pods } = await world({ maxVariables: 2 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    await pods[1].bus.subscribe([room]);
    const results = await pods[0].store.setMany(
      room,
      'c1',
      [
        { variable: 'score', value: '5', increasing: true },
        { variable: 'score', value: '4', increasing: true },
        { variable: 'other', value: 'x' },
        { variable: 'third', value: 'y' },
        { variable: 'score', value: '6', increasing: true },
        { variable: 'score', value: 'not a number' },
      ],
      { create: true },
    );
    expect(results).toEqual([
      { ok: true, seq: 1 },
      { ok: false, reason: 'not-increasing' },
      { ok: true, seq: 2 },
      { ok: false, reason: 'too-many-variables' },
      { ok: true, seq: 3 },
      { ok: true, seq: 4 },
    ]);
    await until(() => pods[1].recorder.of(room).length === 4, { what: 'the four applied sets' });
    expect(pods[1].recorder.of(room).map(({ seq, variable, value }) => [seq, variable, value])).toEqual([
      [1, 'score', '5'],
      [2, 'other', 'x'],
      [3, 'score', '6'],
      [4, 'score', 'not a number'],
    ]);
    expect(sorted((await pods[1].store.snapshot(room))?.variables ?? [])).toEqual([
      ['other', 'x'],
      ['score', 'not a number'],
    ]);
  });

  it('refuses every set of a batch to an unknown room, or to unknown variables without create, storing and publishing nothing', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '0']]));
    await pods[1].bus.subscribe([room]);
    const changes = [
      { variable: 'y', value: '1' },
      { variable: 'z', value: '2' },
    ];
    expect(await pods[0].store.setMany(freshRoom(), 'c1', changes)).toEqual([
      { ok: false, reason: 'unknown-room' },
      { ok: false, reason: 'unknown-room' },
    ]);
    expect(await pods[0].store.setMany(room, 'c1', changes)).toEqual([
      { ok: false, reason: 'unknown-variable' },
      { ok: false, reason: 'unknown-variable' },
    ]);
    expect(await pods[0].store.setMany(room, 'c1', [])).toEqual([]);
    expect(await pods[0].store.set(room, 'c1', 'x', '1')).toEqual({ ok: true, seq: 1 });
    await until(() => pods[1].recorder.of(room).length >= 1, { what: 'the accepted set' });
    expect(await pods[1].bus.probe(2_000)).toBe(true);
    expect(pods[1].recorder.of(room).map(({ seq, variable }) => [seq, variable])).toEqual([[1, 'x']]);
  });

  it('holds the byte budget across a batch: a set that would grow the room beyond it is refused, later smaller ones apply', async () => {
    const { pods } = await world({ maxRoomBytes: 10 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    const results = await pods[0].store.setMany(
      room,
      'c1',
      [
        { variable: 'a', value: '1234' },
        { variable: 'b', value: '12345' },
        { variable: 'b', value: '1234' },
      ],
      { create: true },
    );
    expect(results).toEqual([
      { ok: true, seq: 1 },
      { ok: false, reason: 'over-budget' },
      { ok: true, seq: 2 },
    ]);
  });

  it('charges the address what the whole batch grew the room by, and refuses its growing sets at the bound', async () => {
    const w = await world({ maxStoredBytesPerAddress: 2 * ROOM_BASE_BYTES + 2000, logLength: 0 });
    const { store } = w.pods[0];
    const address = '10.0.0.1';
    const [a, b] = [freshRoom(), freshRoom()];
    await store.join(joinRequest(a, 'c-a', 'pupil', null, address));
    await store.join(joinRequest(b, 'c-b', 'pupil', null, address));
    const grow = [
      { variable: 'x', value: '7'.repeat(1000) },
      { variable: 'y', value: '7'.repeat(999) },
    ];
    expect((await store.setMany(a, 'c-a', grow, { create: true, address })).map((result) => result.ok)).toEqual([true, true]);
    // The Redis charge goes out after the answer: any later call on the pod comes back after it.
    await store.snapshot(a);
    // 1 + 1000 + 1 + 999 + ROOM_BASE_BYTES charged so far: this set still fits under the bound, and crosses it.
    expect((await store.set(b, 'c-b', 'x', '7'.repeat(1000), { create: true, address })).ok).toBe(true);
    await store.snapshot(b);
    expect(await store.set(b, 'c-b', 'y', '1', { create: true, address })).toEqual({ ok: false, reason: 'address-bytes' });
    const results = await store.setMany(
      a,
      'c-a',
      [
        { variable: 'x', value: '9' },
        // Under the room's high-water mark (x's 999 bytes given back): not a growth of its charged size.
        { variable: 'z', value: '1'.repeat(998) },
        // Past it: refused.
        { variable: 'w', value: '1' },
      ],
      { create: true, address },
    );
    expect(results.map((result) => (result.ok ? 'applied' : result.reason))).toEqual(['applied', 'applied', 'address-bytes']);
  });
}
