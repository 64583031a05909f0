import { expect, it } from 'vitest';
import { until } from '@cloudvars/test-support/until';
import type { EngineLimits } from '../../src/ports.ts';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, range, sorted } from './harness.ts';

type MakeWorld = (limits?: Partial<EngineLimits>) => Promise<World>;

/**
 * What a set carries of its project's policy (issue 22), checked by the store in the same
 * atomic step that applies the set, so it holds on every pod and under concurrent writers:
 * "only increases" against the stored value, and the project's own variable and byte limits
 * instead of the engine's. A join carries the project's limits too: its room capacity, and
 * the variable and byte limits a 2020 handshake's names are judged by.
 */
export function setRulesContract(world: MakeWorld): void {
  it('applies an increasing set only when its number is above the stored one; a new variable or a stored non-number takes any number', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    const up = { create: true, increasing: true } as const;
    expect(await pods[0].store.set(room, 'c1', 'score', '10', up)).toEqual({ ok: true, seq: 1 });
    expect(await pods[1].store.set(room, 'c1', 'score', '9', up)).toEqual({ ok: false, reason: 'not-increasing' });
    expect(await pods[1].store.set(room, 'c1', 'score', '10', up)).toEqual({ ok: false, reason: 'not-increasing' });
    expect(await pods[1].store.set(room, 'c1', 'score', '1e1', up)).toEqual({ ok: false, reason: 'not-increasing' });
    expect(await pods[0].store.set(room, 'c1', 'score', '10.5', up)).toEqual({ ok: true, seq: 2 });
    expect(await pods[0].store.set(room, 'c1', 'score', '2e3', up)).toEqual({ ok: true, seq: 3 });
    // What is not a decimal number never passes (hex, infinity, text, empty, beyond a double).
    for (const value of ['0x10000', 'inf', 'Infinity', 'nan', 'abc', '', ' 5000', '1e400']) {
      expect(await pods[1].store.set(room, 'c1', 'score', value, up), value).toEqual({ ok: false, reason: 'not-increasing' });
    }
    // Without the rule (an operator's set) it may go down.
    expect(await pods[1].store.set(room, 'c1', 'score', '-1')).toEqual({ ok: true, seq: 4 });
    expect(await pods[0].store.set(room, 'c1', 'score', '-0.5', up)).toEqual({ ok: true, seq: 5 });
    // A stored value that is no number is replaced by the first number.
    expect(await pods[0].store.set(room, 'c1', 'name', 'text', { create: true })).toEqual({ ok: true, seq: 6 });
    expect(await pods[1].store.set(room, 'c1', 'name', '-100', up)).toEqual({ ok: true, seq: 7 });
    expect(sorted((await pods[0].store.snapshot(room))?.variables ?? [])).toEqual([
      ['name', '-100'],
      ['score', '-0.5'],
    ]);
  });

  it('reads a marked string (a Scratch 3 client\'s JSON "99") as its number on both sides of an increasing set', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    const up = { create: true, increasing: true } as const;
    // The stored value codec's mark: the string "99", not the number 99 (packages/protocol stored-value.ts).
    const marked = (text: string): string => `\u0001${text}`;
    expect(await pods[0].store.set(room, 'c1', 'score', marked('99'), up)).toEqual({ ok: true, seq: 1 });
    // A marked string rises above a stored marked string, and falls short of it, by its number.
    expect(await pods[1].store.set(room, 'c1', 'score', marked('100'), up)).toEqual({ ok: true, seq: 2 });
    expect(await pods[1].store.set(room, 'c1', 'score', marked('98'), up)).toEqual({ ok: false, reason: 'not-increasing' });
    expect(await pods[0].store.set(room, 'c1', 'score', marked('100'), up)).toEqual({ ok: false, reason: 'not-increasing' });
    // A number after a marked string: the same score is no rise, a higher one is.
    expect(await pods[0].store.set(room, 'c1', 'score', '100', up)).toEqual({ ok: false, reason: 'not-increasing' });
    expect(await pods[0].store.set(room, 'c1', 'score', '100.5', up)).toEqual({ ok: true, seq: 3 });
    // And a marked string after a number is judged against that number.
    expect(await pods[1].store.set(room, 'c1', 'score', marked('100.25'), up)).toEqual({ ok: false, reason: 'not-increasing' });
    expect(await pods[1].store.set(room, 'c1', 'score', marked('101'), up)).toEqual({ ok: true, seq: 4 });
    // Only one mark is the codec's: a string that itself starts with the mark is no number.
    expect(await pods[0].store.set(room, 'c1', 'score', marked(marked('500')), up)).toEqual({ ok: false, reason: 'not-increasing' });
    expect(await pods[0].store.set(room, 'c1', 'score', marked('abc'), up)).toEqual({ ok: false, reason: 'not-increasing' });
    // The value is stored as sent, mark and all: the rule reads it, it does not rewrite it.
    expect(sorted((await pods[0].store.snapshot(room))?.variables ?? [])).toEqual([['score', marked('101')]]);
  });

  it('ends an increasing variable on the highest value of concurrent writers on both pods, and publishes only the rises', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['hi', '0']]));
    await pods[0].bus.subscribe([room]);
    const values = range(1, 60).sort(() => Math.random() - 0.5);
    const results = await Promise.all(values.map((n, i) => pods[i % 2 === 0 ? 0 : 1].store.set(room, `c${i}`, 'hi', String(n), { increasing: true })));
    expect(sorted((await pods[1].store.snapshot(room))?.variables ?? [])).toEqual([['hi', '60']]);
    const applied = results.filter((result) => result.ok).length;
    expect(applied).toBeGreaterThanOrEqual(1);
    // Every applied set raised the value: in store order, the published values only increase.
    await until(() => pods[0].recorder.of(room).length === applied, { what: `${applied} events` });
    const published = pods[0].recorder.of(room).map((event) => Number(event.value));
    expect(published).toEqual([...published].sort((a, b) => a - b));
    expect(new Set(published).size).toBe(published.length);
  });

  it("holds a project's own maxVariables and maxRoomBytes given with a set, instead of the engine's", async () => {
    const { pods } = await world({ maxVariables: 2, maxRoomBytes: 20 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    const roomy = { create: true, maxVariables: 4, maxRoomBytes: 100 } as const;
    for (const name of ['a', 'b', 'c', 'd']) expect(await pods[0].store.set(room, 'c1', name, '9'.repeat(10), roomy), name).toMatchObject({ ok: true });
    expect(await pods[1].store.set(room, 'c1', 'e', '1', roomy)).toEqual({ ok: false, reason: 'too-many-variables' });
    expect(await pods[1].store.set(room, 'c1', 'a', '9'.repeat(70), roomy)).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[1].store.set(room, 'c1', 'a', '9'.repeat(65), roomy)).toMatchObject({ ok: true });
    // A lower limit holds too (a set that does not grow the room still applies).
    const tight = { create: true, maxVariables: 1, maxRoomBytes: 10 } as const;
    expect(await pods[0].store.set(room, 'c1', 'f', '1', tight)).toEqual({ ok: false, reason: 'too-many-variables' });
    expect(await pods[0].store.set(room, 'c1', 'b', '9'.repeat(11), tight)).toEqual({ ok: false, reason: 'over-budget' });
    expect(await pods[0].store.set(room, 'c1', 'b', '1', tight)).toMatchObject({ ok: true });
  });

  it("holds a project's own maxClientsPerRoom, maxVariables and maxRoomBytes given with a join, instead of the engine's", async () => {
    const { pods } = await world({ maxClientsPerRoom: 1, maxVariables: 2, maxRoomBytes: 20 });
    const room = freshRoom();
    const roomy = { maxClientsPerRoom: 3, maxVariables: 4, maxRoomBytes: 100 } as const;
    // Four names of 2 + 10 bytes each: over the engine's 2 variables and 20 bytes, within the project's.
    const declared = ['a', 'b', 'c', 'd'].map((name): [string, string] => [name, '9'.repeat(10)]);
    const created = await pods[0].store.join({ ...joinRequest(room, 'c1', 'alice', declared), ...roomy });
    expect(created.ok && created.outcome).toBe('created');
    expect(created.ok && sorted(created.snapshot.variables)).toEqual(declared);
    expect((await pods[1].store.join({ ...joinRequest(room, 'c2', 'bob', declared), ...roomy })).ok).toBe(true);
    expect((await pods[1].store.join({ ...joinRequest(room, 'c3', 'carol', null), ...roomy })).ok).toBe(true);
    expect(await pods[0].store.join({ ...joinRequest(room, 'c4', 'dave', null), ...roomy })).toEqual({ ok: false, reason: 'room-full' });
    // Without them, the engine's hold: the room is full at 1, and a creation of four names is refused.
    expect(await pods[0].store.join(joinRequest(room, 'c5', 'erin', null))).toEqual({ ok: false, reason: 'room-full' });
    expect(await pods[0].store.join(joinRequest(freshRoom(), 'c6', 'frank', declared))).toEqual({ ok: false, reason: 'too-many-variables' });
    // Lower ones hold as well: 2 names (the engine's limit) over the project's 1, 11 bytes (within the engine's 20) over its 10.
    expect(
      await pods[1].store.join({
        ...joinRequest(freshRoom(), 'c7', 'gina', [
          ['a', '1'],
          ['b', '1'],
        ]),
        maxVariables: 1,
      }),
    ).toEqual({ ok: false, reason: 'too-many-variables' });
    expect(await pods[1].store.join({ ...joinRequest(freshRoom(), 'c8', 'hal', [['abcdefghij', '1']]), maxRoomBytes: 10 })).toEqual({
      ok: false,
      reason: 'over-budget',
    });
  });
}
