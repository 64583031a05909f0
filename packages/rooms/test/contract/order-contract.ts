import { expect, it } from 'vitest';
import type { RoomEvent, SetResult, VariableEntry } from '../../src/ports.ts';
import { until } from '@cloudvars/test-support/until';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, range, sorted } from './harness.ts';

type MakeWorld = () => Promise<World>;

function seqs(events: readonly RoomEvent[]): number[] {
  return events.map((event) => event.seq);
}

/** The state a consumer ends with: a snapshot, then the events after it, in order. */
function replay(start: readonly VariableEntry[], events: readonly RoomEvent[]): VariableEntry[] {
  const state = new Map(start);
  for (const event of events) {
    if (event.type === 'set') state.set(event.variable, event.value);
    else if (event.type === 'rename' || event.type === 'delete') {
      const value = state.get(event.variable);
      state.delete(event.variable);
      if (event.type === 'rename' && value !== undefined) state.set(event.newName, value);
    }
  }
  return sorted([...state]);
}

/** Sets, the bus and the one order (invariants 1 and 2 of DESIGN.md). */
export function orderContract(world: MakeWorld): void {
  it('refuses sets to an unknown room or variable without storing, counting or publishing them', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '0']]));
    await pods[1].bus.subscribe([room]);
    expect(await pods[0].store.set(room, 'c1', 'y', '1')).toEqual({ ok: false, reason: 'unknown-variable' });
    expect(await pods[0].store.set(freshRoom(), 'c1', 'x', '1')).toEqual({ ok: false, reason: 'unknown-room' });
    expect(await pods[0].store.set(room, 'c1', 'x', '2')).toEqual({ ok: true, seq: 1 });
    await until(() => pods[1].recorder.of(room).length >= 1, { what: 'the accepted set' });
    expect(await pods[1].bus.probe(2_000)).toBe(true);
    expect(pods[1].recorder.of(room).map(({ seq, variable, value }) => [seq, variable, value])).toEqual([[1, 'x', '2']]);
  });

  it('publishes each applied set with its epoch, seq and origin', async () => {
    const { pods } = await world();
    const room = freshRoom();
    const joined = await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '0']]));
    await pods[1].bus.subscribe([room]);
    await pods[0].store.set(room, 'c1', 'x', '42');
    await until(() => pods[1].recorder.of(room).length === 1, { what: 'the event' });
    expect(pods[1].recorder.of(room)).toEqual([
      { type: 'set', room, epoch: joined.ok ? joined.snapshot.epoch : '', seq: 1, origin: 'c1', variable: 'x', value: '42' },
    ]);
  });

  it('delivers concurrent sets from both pods to every subscriber in one gap-free order matching the store', async () => {
    const { pods } = await world();
    const room = freshRoom();
    const names = ['a', 'b', 'c'];
    const variables: VariableEntry[] = names.map((name) => [name, '0']);
    const joined = await pods[0].store.join(joinRequest(room, 'c1', 'alice', variables));
    await pods[1].store.join(joinRequest(room, 'c2', 'bob', variables));
    await Promise.all(pods.map((pod) => pod.bus.subscribe([room])));
    const total = 120;
    const results: SetResult[] = await Promise.all(range(0, total - 1).map((i) => pods[i % 2]!.store.set(room, `c${(i % 2) + 1}`, names[i % 3]!, `v${i}`)));
    await until(() => pods.every((pod) => pod.recorder.of(room).length >= total), { what: `${total} events` });
    const [first, second] = [pods[0].recorder.of(room), pods[1].recorder.of(room)];
    expect(seqs(first)).toEqual(range(1, total));
    expect(second).toEqual(first);
    expect(new Set(first.map((event) => event.epoch))).toEqual(new Set([joined.ok ? joined.snapshot.epoch : '']));
    results.forEach((result, i) => {
      expect(result.ok).toBe(true);
      const event = result.ok ? first[result.seq - 1] : undefined;
      expect(event).toMatchObject({ origin: `c${(i % 2) + 1}`, variable: names[i % 3], value: `v${i}` });
    });
    const snapshot = await pods[1].store.snapshot(room);
    expect(snapshot?.seq).toBe(total);
    expect(sorted(snapshot?.variables ?? [])).toEqual(replay([], first));
  });

  it('a join while another pod sets: the snapshot plus the later events reproduce the final state, no gap, no duplicate', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(
      joinRequest(room, 'c1', 'alice', [
        ['x', '0'],
        ['y', '0'],
      ]),
    );
    let joinedAt: number | null = null;
    let joining: Promise<void> | null = null;
    let snapshotSeq = -1;
    let start: readonly VariableEntry[] = [];
    let epoch = '';
    const joinMidway = async (): Promise<void> => {
      await pods[1].bus.subscribe([room]);
      const result = await pods[1].store.join(
        joinRequest(room, 'c2', 'bob', [
          ['x', '0'],
          ['y', '0'],
        ]),
      );
      if (!result.ok) throw new Error(`join refused: ${result.reason}`);
      ({ seq: snapshotSeq, variables: start, epoch } = result.snapshot);
      joinedAt = writes;
    };
    let writes = 0;
    // Writes go on until well after the join returned, so the join lands mid-stream.
    while (joinedAt === null || writes < joinedAt + 30) {
      if (writes === 20) joining = joinMidway();
      const result = await pods[0].store.set(room, 'c1', writes % 2 === 0 ? 'x' : 'y', `w${writes}`);
      expect(result.ok).toBe(true);
      writes += 1;
      if (writes > 20_000) throw new Error('the join never completed');
    }
    await joining;
    await until(() => pods[1].recorder.of(room).some((event) => event.seq === writes), { what: 'the last write' });
    const after = pods[1].recorder.of(room).filter((event) => event.epoch === epoch && event.seq > snapshotSeq);
    expect(snapshotSeq).toBeGreaterThan(0);
    expect(snapshotSeq).toBeLessThan(writes);
    expect(seqs(after)).toEqual(range(snapshotSeq + 1, writes));
    const final = await pods[0].store.snapshot(room);
    expect(replay(start, after)).toEqual(sorted(final?.variables ?? []));
  });

  it('stops delivering a room once unsubscribe resolved, while other rooms keep flowing', async () => {
    const { pods } = await world();
    const [quiet, loud] = [freshRoom(), freshRoom()];
    await pods[0].store.join(joinRequest(quiet, 'c1', 'alice'));
    await pods[0].store.join(joinRequest(loud, 'c2', 'alice'));
    await pods[1].bus.subscribe([quiet, loud]);
    await pods[0].store.set(quiet, 'c1', 'x', 'before');
    await until(() => pods[1].recorder.of(quiet).length === 1, { what: 'the event before unsubscribing' });
    await pods[1].bus.unsubscribe([quiet]);
    await pods[0].store.set(quiet, 'c1', 'x', 'after');
    await pods[0].store.set(loud, 'c2', 'x', 'marker');
    await until(() => pods[1].recorder.of(loud).length === 1, { what: 'the marker in the other room' });
    expect(await pods[1].bus.probe(2_000)).toBe(true);
    expect(pods[1].recorder.of(quiet).map((event) => event.value)).toEqual(['before']);
  });

  it('probe answers true on a working bus', async () => {
    const { pods } = await world();
    expect(await pods[0].bus.probe(2_000)).toBe(true);
    expect(await pods[1].bus.probe(2_000)).toBe(true);
  });

  it('stores __proto__, constructor and toString as plain variable names', async () => {
    const { pods } = await world();
    const room = freshRoom();
    const variables: VariableEntry[] = [
      ['__proto__', '1'],
      ['constructor', '2'],
      ['toString', '3'],
    ];
    const created = await pods[0].store.join(joinRequest(room, 'c1', 'alice', variables));
    expect(created.ok && sorted(created.snapshot.variables)).toEqual(sorted(variables));
    await pods[1].bus.subscribe([room]);
    expect(await pods[0].store.set(room, 'c1', '__proto__', '9')).toEqual({ ok: true, seq: 1 });
    expect(await pods[0].store.set(room, 'c1', 'hasOwnProperty', '9')).toEqual({ ok: false, reason: 'unknown-variable' });
    await until(() => pods[1].recorder.of(room).length === 1, { what: 'the __proto__ event' });
    expect(pods[1].recorder.of(room)[0]).toMatchObject({ variable: '__proto__', value: '9' });
    const joined = await pods[1].store.join(
      joinRequest(room, 'c2', 'bob', [
        ['toString', '0'],
        ['constructor', '0'],
        ['__proto__', '0'],
      ]),
    );
    expect(joined.ok && joined.outcome).toBe('joined');
    expect(sorted((await pods[1].store.snapshot(room))?.variables ?? [])).toEqual(
      sorted([
        ['__proto__', '9'],
        ['constructor', '2'],
        ['toString', '3'],
      ]),
    );
  });
}
