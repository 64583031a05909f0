import { until } from '@cloudvars/test-support/until';
import { expect, it } from 'vitest';
import type { World } from './harness.ts';
import { freshRoom, joinRequest } from './harness.ts';

type MakeWorld = () => Promise<World>;

/** Project policies: kept as put, shared by every pod, each change announced to every pod. */
export function policiesContract(world: MakeWorld): void {
  it('keeps a policy as put, replaces it on the next put, and removes it on delete, on every pod', async () => {
    const { pods } = await world();
    const room = freshRoom();
    expect(await pods[0].policies.get(room)).toBeNull();
    expect(await pods[0].policies.put(room, '{"frozen":true}')).toBe('stored');
    expect(await pods[1].policies.get(room)).toBe('{"frozen":true}');
    expect(await pods[1].policies.put(room, '{"blocked":true}')).toBe('stored');
    expect(await pods[0].policies.get(room)).toBe('{"blocked":true}');
    expect(await pods[0].policies.delete(room)).toBe(true);
    expect(await pods[1].policies.get(room)).toBeNull();
    expect(await pods[1].policies.delete(room)).toBe(false);
  });

  it('lists every policy with a version that changes with each put and delete', async () => {
    const { pods } = await world();
    const [first, second] = [freshRoom(), freshRoom()];
    const before = await pods[0].policies.all();
    await pods[0].policies.put(first, '{"frozen":true}');
    await pods[1].policies.put(second, '{"textValues":true}');
    // A room id may be any of [A-Za-z0-9_.%-]: even a name an object would take for its prototype.
    await pods[1].policies.put('__proto__', '{}');
    const table = await pods[1].policies.all();
    expect(table.policies.get(first)).toBe('{"frozen":true}');
    expect(table.policies.get(second)).toBe('{"textValues":true}');
    expect(table.policies.get('__proto__')).toBe('{}');
    expect(table.version).not.toBe(before.version);
    expect(await pods[0].policies.version()).toBe(table.version);
    await pods[0].policies.delete(first);
    expect(await pods[1].policies.version()).not.toBe(table.version);
    expect((await pods[1].policies.all()).policies.has(first)).toBe(false);
    await pods[0].policies.delete('__proto__');
  });

  it("tells every pod which room's policy changed, for puts and deletes made on any pod", async () => {
    const { pods } = await world();
    const room = freshRoom();
    const heard: string[][] = [[], []];
    pods[0].policies.watch((changed) => heard[0]?.push(changed));
    pods[1].policies.watch((changed) => heard[1]?.push(changed));
    // A join subscribes nothing about policies: a pod hears of every room, joined or not.
    await pods[1].store.join(joinRequest(freshRoom(), 'c1', 'alice'));
    await pods[0].policies.put(room, '{"frozen":true}');
    await until(() => heard.every((rooms) => rooms.includes(room)), { what: 'both pods told of the put' });
    await pods[1].policies.delete(room);
    await until(() => heard.every((rooms) => rooms.filter((r) => r === room).length === 2), { what: 'both pods told of the delete' });
  });

  it("keeps a room's policy when an operator deletes the room", async () => {
    const { pods } = await world();
    const room = freshRoom();
    expect((await pods[0].store.join(joinRequest(room, 'c1', 'alice'))).ok).toBe(true);
    await pods[0].policies.put(room, '{"blocked":true}');
    expect((await pods[1].store.deleteRoom(room, 'api:ops')).ok).toBe(true);
    expect(await pods[1].policies.get(room)).toBe('{"blocked":true}');
  });
}
