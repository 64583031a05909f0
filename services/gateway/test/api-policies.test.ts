/**
 * Project policies through the HTTP API (issue 22), on one in-memory gateway and on two pods
 * sharing Redis: a policy put on one pod holds on the other for clients already joined
 * there, without reconnecting; bad policies get a 400 in the API's error shape.
 */
import { encodeHandshake } from '@cloudvars/protocol';
import { describe, expect, it } from 'vitest';
import { admin, call, expectDocumented, podsPerTest, roomPath } from './support/api.ts';
import { TestClient, joined, joinOutcome, until } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import { ignored, policyPath, policyShown } from './support/policies.ts';
import { TARGET_KINDS } from './support/targets.ts';

const ROUTE = '/api/v1/projects/{room}/policy';

describe.each(TARGET_KINDS)('HTTP API: project policies (%s)', (kind) => {
  const { pods } = podsPerTest(kind);

  it('puts, reads, replaces and deletes a policy on any pod, as documented', async () => {
    const [a, b] = await pods();
    const room = 'policy-crud';
    expect((await admin(a.httpUrl, 'GET', policyPath(room))).status).toBe(404);
    const policy = {
      frozen: true,
      textValues: true,
      protected: [cloud('highscore'), cloud('top*')],
      rules: { [cloud('level')]: { min: 1, max: 10 } },
      limits: { maxVariables: 500 },
    };
    const put = await admin(a.httpUrl, 'PUT', policyPath(room), policy);
    await expectDocumented(a.httpUrl, 'PUT', ROUTE, put, 200);
    expect(put.body).toEqual({ room, policy });
    const read = await admin(b.httpUrl, 'GET', policyPath(room));
    await expectDocumented(b.httpUrl, 'GET', ROUTE, read, 200);
    expect(read.body).toEqual({ room, policy });
    // A PUT replaces the whole policy.
    expect((await admin(b.httpUrl, 'PUT', policyPath(room), { blocked: true })).body).toEqual({ room, policy: { blocked: true } });
    expect((await admin(a.httpUrl, 'GET', policyPath(room))).body).toEqual({ room, policy: { blocked: true } });
    const removed = await admin(a.httpUrl, 'DELETE', policyPath(room));
    await expectDocumented(a.httpUrl, 'DELETE', ROUTE, removed, 200);
    const gone = await admin(b.httpUrl, 'GET', policyPath(room));
    await expectDocumented(b.httpUrl, 'GET', ROUTE, gone, 404);
    expect((gone.body as { error: string }).error).toBe('no-policy');
    expect((await admin(b.httpUrl, 'DELETE', policyPath(room))).status).toBe(404);
    // Admin only.
    expect((await call(a.httpUrl, 'PUT', policyPath(room), { body: { frozen: true } })).status).toBe(401);
  });

  it("refuses a bad policy with 400 in the API's error shape, and stores nothing", async () => {
    const [a] = await pods();
    const room = 'policy-bad';
    const bad: unknown[] = [
      { blocked: true, colour: 'red' },
      { frozen: 'true' },
      { limits: { maxVariables: 1_000_000 } },
      { limits: { maxVariables: 0 } },
      { limits: { speed: 3 } },
      { protected: ['highscore'] },
      { protected: [cloud('a*b')] },
      { protected: cloud('a') },
      { rules: { [cloud('a')]: { min: 5, max: 1 } } },
      { rules: { [cloud('a')]: {} } },
      [],
      'blocked',
    ];
    for (const body of bad) {
      // As text: `call` sends a string as it is, so 'blocked' goes as the JSON string "blocked".
      const answer = await admin(a.httpUrl, 'PUT', policyPath(room), JSON.stringify(body));
      await expectDocumented(a.httpUrl, 'PUT', ROUTE, answer, 400);
      expect(answer.body, JSON.stringify(body)).toMatchObject({ error: 'invalid-policy' });
    }
    expect((await admin(a.httpUrl, 'GET', policyPath(room))).status).toBe(404);
  });

  it('blocks a project: clients joined on every pod are closed with 4004, new ones refused, until the policy goes', async () => {
    const [a, b] = await pods();
    const room = 'policy-blocked';
    const onA = await joined(a, room, 'alice');
    const onB = await joined(b, room, 'bob');
    expect((await admin(a.httpUrl, 'PUT', policyPath(room), { blocked: true, reason: 'abuse report 17' })).status).toBe(200);
    expect((await onA.waitClose()).code).toBe(4004);
    expect((await onB.waitClose()).code).toBe(4004);
    for (const pod of [a, b]) {
      const client = await TestClient.connect(pod.url, { dialect: 'scratch' });
      client.send(encodeHandshake('scratch', room, 'carol', {}));
      expect((await client.waitClose()).code).toBe(4004);
    }
    expect(await joinOutcome(b, 'policy-elsewhere', 'carol')).toBe('joined');
    const state = await call(b.httpUrl, 'GET', roomPath(room));
    await expectDocumented(b.httpUrl, 'GET', '/api/v1/rooms/{room}', state, 200);
    expect(await policyShown(b, room)).toEqual({ blocked: true, reason: 'abuse report 17' });
    await admin(b.httpUrl, 'DELETE', policyPath(room));
    await until(async () => (await joinOutcome(a, room, 'dave')) === 'joined', { what: 'the block to be lifted on the other pod' });
  });

  it('freezes a project for clients joined on the other pod: their sets are ignored and counted, the API still sets', async () => {
    const [a, b] = await pods();
    const room = 'policy-frozen';
    const writer = await joined(b, room, 'alice');
    const reader = await joined(a, room, 'bob');
    writer.set(cloud('x'), '1');
    await until(() => reader.view.get(cloud('x')) === '1', { what: 'a set before the freeze' });
    await admin(a.httpUrl, 'PUT', policyPath(room), { frozen: true });
    await until(async () => JSON.stringify(await policyShown(b, room)) === '{"frozen":true}', { what: "the freeze on the writer's pod" });
    writer.set(cloud('x'), '2');
    await until(async () => (await ignored([a, b], 'frozen')) === 1, { what: 'the frozen set counted' });
    expect((await admin(a.httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('x'), value: '3' })).status).toBe(200);
    await until(() => reader.view.get(cloud('x')) === '3', { what: "the operator's set" });
    // The API's string "3", stored with the string mark (PROTOCOL.md, "Value types").
    expect(await a.engine.store.snapshot(room)).toMatchObject({ variables: [[cloud('x'), '\u00013']] });
    // Joins are still served.
    expect(await joinOutcome(b, room, 'carol')).toBe('joined');
    writer.close();
    reader.close();
  });

  it('protects names and patterns from clients: their sets are ignored and counted, others apply, the API may set them', async () => {
    const [a, b] = await pods();
    const room = 'policy-protected';
    const client = await joined(b, room, 'alice');
    const watcher = await joined(a, room, 'bob');
    await admin(a.httpUrl, 'PUT', policyPath(room), { protected: [cloud('highscore'), cloud('top*')] });
    await until(async () => (await policyShown(b, room)) !== undefined, { what: "the policy on the client's pod" });
    client.set(cloud('highscore'), '999');
    client.set(cloud('top3'), '999');
    client.set(cloud('score'), '5');
    await until(() => watcher.view.get(cloud('score')) === '5', { what: 'the unprotected set' });
    expect(await ignored([a, b], 'protected')).toBe(2);
    expect(watcher.view.has(cloud('highscore'))).toBe(false);
    expect((await admin(b.httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('highscore'), value: '42' })).status).toBe(200);
    await until(() => watcher.view.get(cloud('highscore')) === '42', { what: "the backend's set" });
    client.close();
    watcher.close();
  });

  it('holds a range rule for clients joined on the other pod: a set outside it (or not a number) is ignored and counted', async () => {
    const [a, b] = await pods();
    const room = 'policy-range';
    const client = await joined(b, room, 'alice');
    const watcher = await joined(a, room, 'bob');
    await admin(a.httpUrl, 'PUT', policyPath(room), { rules: { [cloud('level*')]: { min: 1, max: 10 } } });
    await until(async () => (await policyShown(b, room)) !== undefined, { what: "the rule on the client's pod" });
    client.set(cloud('level'), '11');
    client.set(cloud('level2'), '0');
    client.set(cloud('level'), '7');
    client.set(cloud('other'), '99');
    await until(() => watcher.view.get(cloud('other')) === '99', { what: 'the set no rule names' });
    expect(await ignored([a, b], 'rule')).toBe(2);
    expect(watcher.view.get(cloud('level'))).toBe('7');
    expect(watcher.view.has(cloud('level2'))).toBe(false);
    client.close();
    watcher.close();
  });

  it('holds an "increasing" rule and the project\'s maxVariables for clients joined on the other pod, in the store', async () => {
    const [a, b] = await pods();
    const room = 'policy-increasing';
    const client = await joined(b, room, 'alice');
    const watcher = await joined(a, room, 'bob');
    await admin(a.httpUrl, 'PUT', policyPath(room), { rules: { [cloud('best')]: { increasing: true } }, limits: { maxVariables: 2 } });
    await until(async () => (await policyShown(b, room)) !== undefined, { what: "the rule on the client's pod" });
    // JSON numbers (a string "50" would do as well: the store reads a marked string by its number).
    const score = (value: number): void => client.sendJson({ method: 'set', name: cloud('best'), value });
    score(50);
    await until(() => watcher.view.get(cloud('best')) === '50', { what: 'the first score' });
    score(40);
    client.set(cloud('second'), '1');
    client.set(cloud('third'), '1');
    score(60);
    await until(() => watcher.view.get(cloud('best')) === '60', { what: 'the higher score' });
    expect(await ignored([a, b], 'not-increasing')).toBe(1);
    expect(await ignored([a, b], 'too-many-variables')).toBe(1);
    expect(watcher.view.get(cloud('second'))).toBe('1');
    expect(watcher.view.has(cloud('third'))).toBe(false);
    client.close();
    watcher.close();
  });
});
