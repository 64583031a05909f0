import { expect, it } from 'vitest';
import { until } from '@cloudvars/test-support/until';
import { LOG_NAME_BYTES, LOG_VALUE_BYTES } from '../../src/log.ts';
import type { EngineLimits, LogEntry } from '../../src/ports.ts';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, leaseOf } from './harness.ts';

type MakeWorld = (limits?: Partial<EngineLimits>) => Promise<World>;

/** The room's cloud log: what each change leaves in it, in which order, and how long it lives. */
export function logContract(world: MakeWorld): void {
  it('logs each set, rename and delete with its user, verb, name, value and time, newest first', async () => {
    const { pods, advance } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    const start = Date.now();
    // The world's clock starts near the real time; read each step's time from the log itself.
    await pods[0].store.set(room, 'c1', '☁ a', '1', { create: true, user: 'alice' });
    advance(1_000);
    await pods[1].store.rename(room, 'c2', '☁ a', '☁ b', { user: 'Bob' });
    advance(1_000);
    await pods[0].store.set(room, 'op', '☁ b', '7', { user: 'ops.carol' });
    advance(1_000);
    await pods[1].store.delete(room, 'c2', '☁ b', { user: 'Bob' });
    await pods[0].store.set(room, 'c1', '☁ c', '2', { create: true });
    const log = (await pods[1].store.log(room, 10)) ?? [];
    expect(log.map(({ timestamp: _, ...rest }) => rest)).toEqual([
      { user: '', verb: 'set', name: '☁ c', value: '2' },
      { user: 'Bob', verb: 'delete', name: '☁ b', value: '' },
      { user: 'ops.carol', verb: 'set', name: '☁ b', value: '7' },
      { user: 'Bob', verb: 'rename', name: '☁ a', value: '☁ b' },
      { user: 'alice', verb: 'set', name: '☁ a', value: '1' },
    ]);
    const times = log.map((entry) => entry.timestamp).reverse();
    expect(times[0]).toBeGreaterThanOrEqual(start - 60_000);
    expect(times.slice(1, 4).map((time, i) => time - (times[i] as number))).toEqual([1_000, 1_000, 1_000]);
    expect(await pods[0].store.log(room, 2)).toEqual(log.slice(0, 2));
  });

  it('keeps the order the store applied the changes in, which is the order of the bus, across pods', async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    await pods[1].bus.subscribe([room]);
    // Concurrent writers on both pods: the store picks one order, the log and the bus must agree on it.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => pods[i % 2]!.store.set(room, `c${i % 2}`, `☁ v${i % 3}`, String(i), { create: true, user: `u${i % 2}` })),
    );
    await until(() => pods[1].recorder.of(room).length === 40, { what: 'forty events' });
    const logged = ((await pods[0].store.log(room, 100)) ?? []).slice().reverse();
    expect(logged.map((entry) => [entry.name, entry.value])).toEqual(pods[1].recorder.of(room).map((event) => [event.variable, event.value]));
    // Each entry names who wrote it: the pod of `c${i % 2}` wrote `u${i % 2}`.
    for (const entry of logged) expect(entry.user).toBe(`u${Number(entry.value) % 2}`);
  });

  it('answers the newest logLength entries at most, whatever the limit asked', async () => {
    const { pods } = await world({ logLength: 3 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '0']]));
    for (let i = 1; i <= 10; i++) await pods[i % 2]!.store.set(room, 'c1', 'x', String(i), { user: 'alice' });
    expect(((await pods[1].store.log(room, 100)) ?? []).map((entry) => entry.value)).toEqual(['10', '9', '8']);
  });

  it('keeps no log with logLength 0, while the room exists', async () => {
    const { pods } = await world({ logLength: 0 });
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '0']]));
    expect(await pods[0].store.set(room, 'c1', 'x', '1', { user: 'alice' })).toEqual({ ok: true, seq: 1 });
    expect(await pods[1].store.log(room, 10)).toEqual([]);
  });

  it(`cuts a logged value to ${LOG_VALUE_BYTES} bytes of UTF-8 on a character boundary, while the room keeps it whole`, async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    // 1023 ASCII bytes then a 3-byte character: the character would straddle the cut.
    const long = 'a'.repeat(LOG_VALUE_BYTES - 1) + '☁' + 'b'.repeat(10);
    const short = '☁'.repeat(10);
    await pods[0].store.set(room, 'c1', 'x', long, { create: true, user: 'alice' });
    await pods[0].store.set(room, 'c1', 'y', short, { create: true, user: 'alice' });
    const [newest, oldest] = (await pods[1].store.log(room, 10)) ?? [];
    expect(oldest?.value).toBe('a'.repeat(LOG_VALUE_BYTES - 1));
    expect(newest?.value).toBe(short);
    expect((await pods[1].store.snapshot(room))?.variables).toContainEqual(['x', long]);
  });

  it(`cuts a logged name, and a rename's new name, to ${LOG_NAME_BYTES} bytes of UTF-8 on a character boundary`, async () => {
    const { pods } = await world();
    const room = freshRoom();
    await pods[0].store.join(joinRequest(room, 'c1', 'alice', null));
    // 1,024 characters: "☁ a" is 5 bytes, then 3-byte characters, the 84th of which would straddle the cut;
    // "☁ " is 4 bytes, then 2-byte characters: 126 fill the cut exactly.
    const long = '☁ a' + '☃'.repeat(1_021);
    const renamed = '☁ ' + 'é'.repeat(1_022);
    await pods[0].store.set(room, 'c1', long, '1', { create: true, user: 'alice' });
    await pods[0].store.rename(room, 'c1', long, renamed, { user: 'alice' });
    const [rename, set] = (await pods[1].store.log(room, 10)) ?? [];
    expect(set?.name).toBe('☁ a' + '☃'.repeat(83));
    expect(rename?.name).toBe('☁ a' + '☃'.repeat(83));
    expect(rename?.value).toBe('☁ ' + 'é'.repeat(126));
    expect((await pods[1].store.snapshot(room))?.variables).toEqual([[renamed, '1']]);
  });

  it('answers null for a room that does not exist; a log lives and expires with its room', async () => {
    const { pods, limits, advance } = await world();
    const room = freshRoom();
    expect(await pods[0].store.log(room, 10)).toBeNull();
    const alice = joinRequest(room, 'c1', 'alice', [['x', '0']]);
    await pods[0].store.join(alice);
    expect(await pods[0].store.log(room, 10)).toEqual([]);
    await pods[0].store.set(room, 'c1', 'x', '1', { user: 'alice' });
    await pods[0].store.leave(leaseOf(alice));
    advance(limits.roomTtlMs);
    expect(await pods[1].store.log(room, 10)).toBeNull();
    // Created anew, the room starts with an empty log.
    await pods[1].store.join(joinRequest(room, 'c2', 'bob', [['x', '0']]));
    expect(await pods[0].store.log(room, 10)).toEqual([] satisfies LogEntry[]);
  });
}
