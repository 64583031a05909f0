/**
 * A project policy's text values and limits (issue 22), on one in-memory gateway and on two
 * pods sharing Redis: each is put through one pod and holds for clients already joined on
 * the other, without reconnecting, in both directions (raised over the global setting and
 * lowered under it), and a DELETE gives the room back the global settings. A 2020
 * handshake is judged by the project's limits too, and writers of both dialects still
 * converge under a policy setting every limit.
 */
import { testSeed } from '@cloudvars/test-support/seeded-random';
import { describe, expect, it } from 'vitest';
import { admin, podsPerTest, roomPath } from './support/api.ts';
import { TestClient, joined, joinOutcome, until } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import { replayHint, runConvergence } from './support/convergence.ts';
import { ignored, policyInForce } from './support/policies.ts';
import { TARGET_KINDS } from './support/targets.ts';

/** What today's clients get for a full room (transient: they retry). */
const RETRY_LATER = 1013;

describe.each(TARGET_KINDS)('project policies: text values and limits (%s)', (kind) => {
  const { pods } = podsPerTest(kind);

  it('allows text values in one project only, for clients of both dialects joined on the other pod; a DELETE returns it to ALLOW_TEXT_VALUES (off)', async () => {
    const [a, b] = await pods();
    const room = 'policy-text';
    const plain = 'policy-numbers';
    const writer = await joined(b, room, 'alice');
    const watcher = await joined(a, room, 'bob');
    const neighbour = await joined(b, plain, 'carol');
    const neighbourWatcher = await joined(a, plain, 'dave');
    writer.set(cloud('name'), 'hello');
    await until(async () => (await ignored([a, b], 'invalid-value')) === 1, { what: 'text ignored before the policy' });
    await policyInForce(a, b, room, { textValues: true });
    writer.set(cloud('name'), 'hello');
    neighbour.set(cloud('name'), 'hello');
    neighbour.set(cloud('n'), '1');
    await until(() => watcher.view.get(cloud('name')) === 'hello', { what: 'text in the project' });
    await until(() => neighbourWatcher.view.get(cloud('n')) === '1', { what: 'a number in the other project' });
    expect(neighbourWatcher.view.has(cloud('name'))).toBe(false);
    expect(await ignored([a, b], 'invalid-value')).toBe(2);
    // A 2020 client: the text its handshake declares is kept (not replaced by "0"), and its text sets apply.
    const legacy = await joined(b, room, 'erin', 'seed', { [cloud('motto')]: 'carpe diem' });
    await until(() => watcher.view.get(cloud('motto')) === 'carpe diem', { what: "the handshake's text" });
    legacy.set(cloud('motto'), 'veni vidi');
    await until(() => watcher.view.get(cloud('motto')) === 'veni vidi', { what: "a 2020 client's text set" });
    await policyInForce(a, b, room, null);
    writer.set(cloud('name'), 'bye');
    legacy.set(cloud('motto'), 'vici');
    await until(async () => (await ignored([a, b], 'invalid-value')) === 4, { what: 'text ignored again after the DELETE' });
    writer.set(cloud('n'), '2');
    await until(() => watcher.view.get(cloud('n')) === '2', { what: 'a number after the DELETE' });
    expect([watcher.view.get(cloud('name')), watcher.view.get(cloud('motto'))]).toEqual(['hello', 'veni vidi']);
    for (const client of [writer, watcher, neighbour, neighbourWatcher, legacy]) expect(client.closed).toBeNull();
  });

  it("holds the project's maxValueLength, above and below MAX_VALUE_LENGTH, and textValues: false over ALLOW_TEXT_VALUES, for clients joined on the other pod and the API", async () => {
    const [a, b] = await pods({ ALLOW_TEXT_VALUES: 'true', MAX_VALUE_LENGTH: '8' });
    const room = 'policy-length';
    const writer = await joined(b, room, 'alice');
    const watcher = await joined(a, room, 'bob');
    const long = '1234567890';
    writer.set(cloud('v'), long);
    writer.set(cloud('t'), 'text');
    await until(() => watcher.view.get(cloud('t')) === 'text', { what: 'text, allowed everywhere' });
    expect(await ignored([a, b], 'invalid-value')).toBe(1);
    await policyInForce(a, b, room, { textValues: false, limits: { maxValueLength: 12 } });
    writer.set(cloud('v'), long);
    writer.set(cloud('t'), 'more text');
    await until(() => watcher.view.get(cloud('v')) === long, { what: "a value within the project's longer limit" });
    await until(async () => (await ignored([a, b], 'invalid-value')) === 2, { what: 'text refused in this project' });
    expect(watcher.view.get(cloud('t'))).toBe('text');
    await policyInForce(a, b, room, { limits: { maxValueLength: 4 } });
    writer.set(cloud('v'), '12345');
    writer.set(cloud('v'), '1234');
    await until(() => watcher.view.get(cloud('v')) === '1234', { what: "a value within the project's shorter limit" });
    expect(await ignored([a, b], 'invalid-value')).toBe(3);
    // The operator's set is judged by the room's limits as well.
    expect((await admin(a.httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('v'), value: '12345' })).body).toMatchObject({ error: 'invalid-value' });
    expect((await admin(b.httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('t'), value: 'text' })).status).toBe(200);
    expect(writer.closed).toBeNull();
  });

  it("holds the project's maxClientsPerRoom across the cluster, above and below MAX_CLIENTS_PER_ROOM; clients already in stay", async () => {
    const [a, b] = await pods({ MAX_CLIENTS_PER_ROOM: '2' });
    const room = 'policy-clients';
    const first = await joined(b, room, 'alice');
    const second = await joined(a, room, 'bob');
    expect(await joinOutcome(b, room, 'carol')).toBe(RETRY_LATER);
    await policyInForce(a, b, room, { limits: { maxClientsPerRoom: 3 } });
    const third = await joined(b, room, 'carol');
    expect(await joinOutcome(a, room, 'dave')).toBe(RETRY_LATER);
    await policyInForce(b, a, room, { limits: { maxClientsPerRoom: 1 } });
    expect(await joinOutcome(b, room, 'dave')).toBe(RETRY_LATER);
    expect([first.closed, second.closed, third.closed]).toEqual([null, null, null]);
    // Back to MAX_CLIENTS_PER_ROOM (2): one more once two have left.
    await policyInForce(a, b, room, null);
    first.close();
    second.close();
    await until(async () => (await b.engine.store.memberCount(room)) === 1, { what: 'two to leave' });
    expect(await joinOutcome(b, room, 'dave')).toBe('joined');
  });

  it("paces a Scratch 3 client joined on the other pod at the project's setsPerSecond (its sets wait, newest value per variable: never closed), and a DELETE gives it back the global rate", async () => {
    const [a, b] = await pods({ RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '1000' });
    const room = 'policy-rate';
    const writer = await joined(b, room, 'alice');
    const watcher = await joined(a, room, 'bob');
    const burst = (from: number): void => {
      for (let value = from; value < from + 5; value++) writer.set(cloud('x'), String(value));
    };
    burst(0);
    await until(() => watcher.view.get(cloud('x')) === '4', { what: 'a burst within the global rate' });
    expect(await ignored([a, b], 'superseded-while-waiting')).toBe(0);
    await policyInForce(a, b, room, { limits: { setsPerSecond: 1 } });
    burst(10);
    // One token a second: the first set goes, the second waits and the next three replace it; the last one arrives.
    await until(() => watcher.view.get(cloud('x')) === '14', { what: "the paced burst's last value" });
    expect(await ignored([a, b], 'superseded-while-waiting')).toBe(3);
    await policyInForce(a, b, room, null);
    burst(20);
    await until(() => watcher.view.get(cloud('x')) === '24', { what: 'a burst back within the global rate' });
    expect(await ignored([a, b], 'superseded-while-waiting')).toBe(3);
    expect(writer.closed).toBeNull();
  });

  it("holds the project's setsPerSecond for a 2020 client joined on the other pod: beyond it, 4004 as its spec says", async () => {
    const [a, b] = await pods({ RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '1000' });
    const room = 'policy-rate-2020';
    const initial = { [cloud('x')]: '0' };
    const writer = await joined(b, room, 'alice', 'seed', initial);
    const watcher = await joined(a, room, 'bob', 'seed', initial);
    for (let value = 1; value <= 5; value++) writer.set(cloud('x'), String(value));
    await until(() => watcher.view.get(cloud('x')) === '5', { what: 'sets within the global rate' });
    await policyInForce(a, b, room, { limits: { setsPerSecond: 1 } });
    for (let value = 6; value <= 8; value++) writer.set(cloud('x'), String(value));
    expect((await writer.waitClose()).code).toBe(4004);
    expect(watcher.closed).toBeNull();
  });

  it("judges a 2020 handshake by the project's maxVariables, maxValueLength, textValues and maxRoomBytes, not the global ones", async () => {
    const [a, b] = await pods({ MAX_VARIABLES: '2', MAX_VALUE_LENGTH: '8' });
    const room = 'policy-handshake';
    // A member first: the room exists, so every pod can show the policy in force.
    const watcher = await joined(a, room, 'bob');
    await policyInForce(a, b, room, { textValues: true, limits: { maxVariables: 4, maxValueLength: 12 } });
    const declared = { [cloud('a')]: 'some text', [cloud('b')]: '123456789012', [cloud('c')]: '1234567890123', [cloud('d')]: '1' };
    const joiner = await joined(b, room, 'alice', 'seed', declared);
    // Four names (the global limit is 2), text, 12 characters kept; 13 are over the project's limit: "0".
    const expected = { ...declared, [cloud('c')]: '0' };
    await until(() => watcher.view.size === 4, { what: 'the names the handshake added' });
    expect(Object.fromEntries(watcher.view)).toEqual(expected);
    await until(() => joiner.view.get(cloud('c')) === '0', { what: 'the joiner shown the stored values' });
    // The same handshake in a room without a policy: more names than MAX_VARIABLES (4000).
    const global = await TestClient.join(b.url, 'policy-handshake-global', 'carol', declared, 'seed');
    expect((await global.waitClose()).code).toBe(4000);
    // Lower than the global ones: one variable, 10 bytes (a 14-byte name does not fit, even with "0": 4003).
    const small = 'policy-handshake-small';
    const keeper = await joined(a, small, 'keeper');
    await policyInForce(a, b, small, { limits: { maxVariables: 1, maxRoomBytes: 10 } });
    const two = await TestClient.join(b.url, small, 'dave', { [cloud('a')]: '1', [cloud('b')]: '1' }, 'seed');
    expect((await two.waitClose()).code).toBe(4000);
    const wide = await TestClient.join(b.url, small, 'erin', { [cloud('abcdefghij')]: '1' }, 'seed');
    expect((await wide.waitClose()).code).toBe(4003);
    expect(keeper.closed).toBeNull();
  });

  it('leaves writers of both dialects on both pods on the stored values in a room whose policy sets every limit', async () => {
    const [a, b] = await pods();
    const room = 'policy-converge';
    // The room exists (so every pod can show the policy in force); the first writer adds its names.
    const keeper = await joined(a, room, 'keeper');
    await policyInForce(a, b, room, {
      textValues: true,
      limits: { maxVariables: 10, maxValueLength: 100, maxRoomBytes: 10_000, maxClientsPerRoom: 12, setsPerSecond: 100 },
    });
    const store = a.engine.store;
    // Sets stored: the room's seq, less the two names the first writer's join added.
    const settled = async (): Promise<number> => ((await store.snapshot(room))?.seq ?? 0) - 2;
    const outcome = await runConvergence({ urls: [a.url, b.url], room, store, seed: testSeed(), dialects: ['seed', 'scratch', 'legacy', 'scratch'], settled });
    expect(outcome.stored.size).toBe(2);
    expect(Object.fromEntries(outcome.diverged), replayHint(outcome)).toEqual({});
    expect(keeper.closed).toBeNull();
  }, 60_000);
});
