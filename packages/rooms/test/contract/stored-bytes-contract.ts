import { expect, it } from 'vitest';
import type { EngineLimits } from '../../src/ports.ts';
import { LOG_ENTRY_BASE_BYTES, ROOM_BASE_BYTES } from '../../src/stored-bytes.ts';
import type { World } from './harness.ts';
import { freshRoom, joinRequest, leaseOf } from './harness.ts';

type MakeWorld = (limits?: Partial<EngineLimits>) => Promise<World>;

const SCHOOL = '10.0.0.1';
const NEIGHBOUR = '10.0.0.2';
const applied = { ok: true, seq: expect.any(Number) as number };
const atBound = { ok: false, reason: 'address-bytes' };

/**
 * maxStoredBytesPerAddress (stored-bytes.ts): an address's sets are charged what they raise a
 * room's charged size by; at the bound, its sets that would raise one more are refused, and
 * nothing else is: its other sets, its joins, its neighbours' sets and an operator's.
 */
export function storedBytesContract(world: MakeWorld): void {
  // Most cases keep no cloud log, so a room's size is its names and values and its base.
  /** A room joined by `address`, grown by it to `bytes` of value in `x`: charged 1 + bytes + ROOM_BASE_BYTES. */
  async function grown(w: World, address: string, bytes: number): Promise<string> {
    const room = freshRoom();
    await w.pods[0].store.join(joinRequest(room, `c-${room}`, 'pupil', null, address));
    expect(await w.pods[0].store.set(room, `c-${room}`, 'x', '7'.repeat(bytes), { create: true, address })).toEqual(applied);
    // The Redis charge goes out after the set's answer: any later call on the pod comes back after it.
    await w.pods[0].store.snapshot(room);
    return room;
  }

  it("refuses the growing sets of an address at its bound, and applies its sets that do not grow, its joins, a neighbour's and an operator's", async () => {
    const w = await world({ maxStoredBytesPerAddress: 2 * ROOM_BASE_BYTES + 2000, logLength: 0 });
    const { store } = w.pods[0];
    // Two rooms of 1000 bytes each: 2 x (1 + 1000 + 580), just past the bound (the set that crosses applies).
    const first = await grown(w, SCHOOL, 1000);
    const second = await grown(w, SCHOOL, 1000);
    const conn = `c-${second}`;
    expect(await store.set(second, conn, 'y', '1', { create: true, address: SCHOOL })).toEqual(atBound);
    expect(await store.set(first, `c-${first}`, 'x', '7'.repeat(1001), { address: SCHOOL })).toEqual(atBound);
    // Not growing: as long, shorter, and back up to what the room already held.
    expect(await store.set(second, conn, 'x', '8'.repeat(1000), { address: SCHOOL })).toEqual(applied);
    expect(await store.set(second, conn, 'x', '9', { address: SCHOOL })).toEqual(applied);
    expect(await store.set(second, conn, 'x', '6'.repeat(1000), { address: SCHOOL })).toEqual(applied);
    // Its joins: of an existing room and of a new one.
    expect((await store.join(joinRequest(first, 'c-again', 'classmate', null, SCHOOL))).ok).toBe(true);
    const third = freshRoom();
    expect((await store.join(joinRequest(third, 'c-third', 'pupil', null, SCHOOL))).ok).toBe(true);
    expect(await store.set(third, 'c-third', 'x', '1', { create: true, address: SCHOOL })).toEqual(atBound);
    // A neighbour address grows the same rooms; an operator (no address) too.
    expect(await w.pods[1].store.set(second, 'c-n', 'n', '5'.repeat(500), { create: true, address: NEIGHBOUR })).toEqual(applied);
    expect(await w.pods[1].store.set(third, 'c-n', 'n', '5'.repeat(500), { create: true, address: NEIGHBOUR })).toEqual(applied);
    expect(await store.set(first, 'operator', 'op', '4'.repeat(500), { create: true })).toEqual(applied);
    const snapshot = await store.snapshot(second);
    expect(snapshot?.variables.map(([name]) => name).sort()).toEqual(['n', 'x']);
  });

  it('holds the bound on every pod: another pod lets at most one growing set through, then refuses', async () => {
    const w = await world({ maxStoredBytesPerAddress: ROOM_BASE_BYTES + 1000, logLength: 0 });
    const room = await grown(w, SCHOOL, 1000);
    const other = w.pods[1].store;
    const first = await other.set(room, `c-${room}`, 'y', '1', { create: true, address: SCHOOL });
    // Memory: one store, it knows. Redis: the other pod reads the address's total before its
    // first set there, and learns later charges from its own; one set in flight may pass.
    expect([applied, atBound]).toContainEqual(first);
    await other.snapshot(room);
    expect(await other.set(room, `c-${room}`, 'z', '1', { create: true, address: SCHOOL })).toEqual(atBound);
  });

  it('charges a rename that lengthens a name like a set: at the bound it is refused, one that shortens it applies', async () => {
    const w = await world({ maxStoredBytesPerAddress: ROOM_BASE_BYTES + 1000, logLength: 0 });
    const room = await grown(w, SCHOOL, 1000);
    const { store } = w.pods[0];
    expect(await store.rename(room, `c-${room}`, 'x', 'xy', { address: SCHOOL })).toEqual(atBound);
    expect(await store.rename(room, 'operator', 'x', 'xyz', { user: 'ops' })).toEqual(applied);
    expect(await store.rename(room, `c-${room}`, 'xyz', 'z', { address: SCHOOL })).toEqual(applied);
    expect((await store.snapshot(room))?.variables.map(([name]) => name)).toEqual(['z']);
  });

  it('charges growth beyond what the room once held only: a value that shrinks and grows back costs nothing more', async () => {
    const w = await world({ maxStoredBytesPerAddress: ROOM_BASE_BYTES + 1100, logLength: 0 });
    const room = await grown(w, SCHOOL, 1000);
    for (let round = 0; round < 20; round += 1) {
      expect(await w.pods[0].store.set(room, `c-${room}`, 'x', '1', { address: SCHOOL })).toEqual(applied);
      expect(await w.pods[0].store.set(room, `c-${room}`, 'x', '2'.repeat(1000), { address: SCHOOL })).toEqual(applied);
    }
    await w.pods[0].store.snapshot(room);
    // 1 + 1000 + 580 charged of 1680: 99 bytes more fit (the set crossing the bound applies), then none.
    expect(await w.pods[0].store.set(room, `c-${room}`, 'y', '3'.repeat(98), { create: true, address: SCHOOL })).toEqual(applied);
    await w.pods[0].store.snapshot(room);
    expect(await w.pods[0].store.set(room, `c-${room}`, 'z', '3', { create: true, address: SCHOOL })).toEqual(atBound);
  });

  it("counts a room's cloud log as full of its largest entry: the same set passes one bound and not one byte lower", async () => {
    // x = 10 digits: 11 bytes, and a log of 10 entries of 1 + 10 + LOG_ENTRY_BASE_BYTES each.
    const charge = ROOM_BASE_BYTES + 11 + 10 * (11 + LOG_ENTRY_BASE_BYTES);
    for (const [bound, then] of [
      [charge, atBound],
      [charge + 1, applied],
    ] as const) {
      const w = await world({ maxStoredBytesPerAddress: bound, logLength: 10 });
      const room = freshRoom();
      await w.pods[0].store.join(joinRequest(room, `c-${room}`, 'pupil', null, SCHOOL));
      expect(await w.pods[0].store.set(room, `c-${room}`, 'x', '1234567890', { create: true, address: SCHOOL })).toEqual(applied);
      await w.pods[0].store.snapshot(room);
      // As long again (the same log entry): never charged.
      expect(await w.pods[0].store.set(room, `c-${room}`, 'x', '0987654321', { address: SCHOOL })).toEqual(applied);
      expect(await w.pods[0].store.set(room, `c-${room}`, 'y', '1', { create: true, address: SCHOOL })).toEqual(then);
    }
  });

  it("charges what a 2020 join stores like a set's growth: at the bound it may not create or extend a room with names, and joins that store nothing still get in", async () => {
    const w = await world({ maxStoredBytesPerAddress: ROOM_BASE_BYTES + 1000, logLength: 0 });
    const { store } = w.pods[0];
    const made = freshRoom();
    // 1 + 1000 bytes of initial value + the room's base: the address is at its bound.
    expect((await store.join(joinRequest(made, 'c1', 'alice', [['x', '7'.repeat(1000)]], SCHOOL))).ok).toBe(true);
    await store.snapshot(made);
    // (The pod that charged knows at once; another learns with its first charge: the previous case.)
    expect(await store.join(joinRequest(freshRoom(), 'c2', 'bob', [['x', '1']], SCHOOL))).toEqual({ ok: false, reason: 'address-bytes' });
    // A join that stores nothing: the room's own names again, or today's client's (none).
    expect((await w.pods[1].store.join(joinRequest(made, 'c3', 'carol', [['x', '0']], SCHOOL))).ok).toBe(true);
    const empty = freshRoom();
    expect((await w.pods[1].store.join(joinRequest(empty, 'c4', 'dave', null, SCHOOL))).ok).toBe(true);
    // Shared now (a set that may create, from a neighbour): a 2020 join from the school adding a name is growth.
    expect(await store.set(empty, 'c-n', 'n', '1', { create: true, address: NEIGHBOUR })).toEqual(applied);
    expect(await store.join(joinRequest(empty, 'c5', 'erin', [['y', '1']], SCHOOL))).toEqual({ ok: false, reason: 'address-bytes' });
    // A neighbour's 2020 creation is its own address's growth.
    expect((await w.pods[1].store.join(joinRequest(freshRoom(), 'c6', 'frank', [['x', '1']], NEIGHBOUR))).ok).toBe(true);
    expect(await w.pods[1].store.memberCount(made)).toBe(2);
  });

  it("forgets a room's charge a room ttl after the address last was in it, never while its connection stays", async () => {
    const w = await world({ maxStoredBytesPerAddress: ROOM_BASE_BYTES + 1000, roomTtlMs: 3_600_000, leaseTtlMs: 15_000, logLength: 0 });
    const { store } = w.pods[0];
    const room = await grown(w, SCHOOL, 1000);
    const lease = leaseOf(joinRequest(room, `c-${room}`, 'pupil', null, SCHOOL));
    // The connection stays (renewing its lease) for longer than the room ttl: still charged.
    for (let step = 0; step < 300; step += 1) {
      w.advance(14_000);
      expect(await store.renew([lease])).toEqual([]);
    }
    const other = freshRoom();
    await store.join(joinRequest(other, 'c-other', 'pupil', null, SCHOOL));
    expect(await store.set(other, 'c-other', 'x', '1', { create: true, address: SCHOOL })).toEqual(atBound);
    await store.leave(lease);
    await store.leave(leaseOf(joinRequest(other, 'c-other', 'pupil', null, SCHOOL)));
    await store.snapshot(room);
    // A room ttl after it left, both the room and its charge are gone.
    w.advance(3_600_001);
    const later = freshRoom();
    await store.join(joinRequest(later, 'c-later', 'pupil', null, SCHOOL));
    expect(await store.set(later, 'c-later', 'x', '1', { create: true, address: SCHOOL })).toEqual(applied);
  });

  it("keeps a connection's changes in the order it sent them when its first set waits for the address's total", async () => {
    const w = await world({ maxStoredBytesPerAddress: 1_000_000, logLength: 0 });
    // Pod 1 has never seen the address: on Redis its first set waits for a read of the total.
    const { store } = w.pods[1];
    const room = freshRoom();
    const conn = `c-${room}`;
    await store.join(joinRequest(room, conn, 'pupil', null, SCHOOL));
    // Sent one after another without waiting, as a socket's frames are handled.
    const sent = [
      store.set(room, conn, 'x', '1', { create: true, address: SCHOOL }),
      store.set(room, conn, 'y', '1', { create: true, address: SCHOOL }),
      store.delete(room, conn, 'x', {}),
      store.rename(room, conn, 'y', 'z', { address: SCHOOL }),
      store.set(room, conn, 'z', '2', { address: SCHOOL }),
    ];
    await Promise.all(sent);
    expect((await store.snapshot(room))?.variables).toEqual([['z', '2']]);
  });
}
