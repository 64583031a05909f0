/**
 * The HTTP API's room routes on one in-memory gateway and on two pods sharing Redis: reads
 * answer from the engine whichever pod is asked, the log's order is the order clients saw,
 * an operator's set reaches clients of every dialect on every pod, and deleting a room or
 * kicking a user closes the clients concerned on every pod.
 */
import { describe, expect, it } from 'vitest';
import { OPERATOR, admin, call, expectDocumented, roomPath, podsPerTest } from './support/api.ts';
import { TestClient, joinedTogether, until } from './support/client.ts';
import { closeOf, cloud } from './support/conformance.ts';
import { membersAre } from './support/gateway.ts';
import { TARGET_KINDS } from './support/targets.ts';

describe.each(TARGET_KINDS)('HTTP API: rooms (%s)', (kind) => {
  const { pods } = podsPerTest(kind);

  it("answers a room's variables and its clients across every pod in the documented shape, and 404 for no such room", async () => {
    const [a, b] = await pods();
    const room = 'api-read';
    await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1', [cloud('b')]: '2' });
    await membersAre(a, room, 1);
    await TestClient.join(b.url, room, 'bob', {}, 'scratch');
    await membersAre(a, room, 2);
    for (const pod of [a, b]) {
      const answer = await call(pod.httpUrl, 'GET', roomPath(room));
      await expectDocumented(pod.httpUrl, 'GET', '/api/v1/rooms/{room}', answer, 200);
      // A 2020 client's values are number text: numbers, as a Scratch 3 client receives them.
      expect(answer.body).toEqual({ room, variables: { [cloud('a')]: 1, [cloud('b')]: 2 }, clients: 2 });
    }
    const missing = await call(b.httpUrl, 'GET', roomPath('no-such-room'));
    await expectDocumented(b.httpUrl, 'GET', '/api/v1/rooms/{room}', missing, 404);
    expect(missing.body).toMatchObject({ error: 'unknown-room' });
    const noLog = await call(a.httpUrl, 'GET', `${roomPath('no-such-room')}/log`);
    await expectDocumented(a.httpUrl, 'GET', '/api/v1/rooms/{room}/log', noLog, 404);
  });

  it("names a room by its project id, as today's clients send it, or by its room id as the API answers it", async () => {
    const [a, b] = await pods();
    const projectId = 'p4-@My Game (1).sb3';
    const client = await TestClient.connect(a.url, { dialect: 'scratch' });
    client.sendJson({ method: 'handshake', project_id: projectId, user: 'player1' });
    client.send(`${JSON.stringify({ method: 'set', name: cloud('x'), value: 7 })}\n`);
    const byProjectId = roomPath(projectId);
    await until(async () => (await call(b.httpUrl, 'GET', byProjectId)).status === 200, { what: 'the room to exist' });
    const answer = await call(b.httpUrl, 'GET', byProjectId);
    expect(answer.body).toMatchObject({ room: 'p4-%40My%20Game%20%281%29.sb3', clients: 1 });
    await until(async () => ((await call(b.httpUrl, 'GET', byProjectId)).body as { variables: object }).variables[cloud('x') as never] === 7);
    // The room id pasted as it is decodes back to the project id: the same room.
    const byRoomId = await call(a.httpUrl, 'GET', `/api/v1/rooms/${(answer.body as { room: string }).room}`);
    expect(byRoomId.body).toEqual((await call(b.httpUrl, 'GET', byProjectId)).body);
  });

  it('logs every change with its user, newest first, in the very order the clients saw them, across pods', async () => {
    const [a, b] = await pods();
    const room = 'api-log-order';
    const observer = await TestClient.join(a.url, room, 'observer', {}, 'scratch');
    await membersAre(a, room, 1);
    const w1 = await TestClient.join(a.url, room, 'writer1', {}, 'scratch');
    const w2 = await TestClient.join(b.url, room, 'writer2', {}, 'scratch');
    await membersAre(b, room, 3);
    // Each set creates a variable of its own, so the observer's batching cannot merge two.
    for (let i = 0; i < 20; i++) {
      w1.set(cloud(`one-${i}`), String(i));
      w2.set(cloud(`two-${i}`), String(i));
    }
    const seen = (): string[] => observer.frames.flatMap((frame) => frame.split('\n')).map((line) => (JSON.parse(line) as { name: string }).name);
    await until(() => seen().length === 40, { what: 'the observer to see all 40 sets' });
    const answer = await call(b.httpUrl, 'GET', `${roomPath(room)}/log?limit=100`);
    await expectDocumented(b.httpUrl, 'GET', '/api/v1/rooms/{room}/log', answer, 200);
    const log = answer.body as { user: string; verb: string; name: string; value: string; timestamp: number }[];
    expect(log.map((entry) => entry.name).reverse()).toEqual(seen());
    for (const entry of log) {
      expect(entry).toMatchObject({ verb: 'set', user: entry.name.includes('one-') ? 'writer1' : 'writer2' });
    }
    expect(log.map((entry) => entry.timestamp)).toEqual([...log.map((entry) => entry.timestamp)].sort((x, y) => y - x));
    const newest = await call(a.httpUrl, 'GET', `${roomPath(room)}/log?limit=3`);
    expect(newest.body).toEqual(log.slice(0, 3));
  });

  it("applies an operator's set like a client's: to clients of every dialect on every pod, in the log as the operator", async () => {
    const [a, b] = await pods();
    const room = 'api-set';
    const seed = await TestClient.join(a.url, room, 'seeder', { [cloud('a')]: '0' }, 'seed');
    await membersAre(a, room, 1);
    const legacy = await TestClient.join(b.url, room, 'legacy', { [cloud('a')]: '0' }, 'legacy');
    const today = await TestClient.join(a.url, room, 'today', {}, 'scratch');
    await membersAre(b, room, 3);
    const answer = await admin(b.httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('a'), value: 42 });
    await expectDocumented(b.httpUrl, 'POST', '/api/v1/rooms/{room}/set', answer, 200);
    expect(answer.body).toEqual({ room, name: cloud('a'), value: 42, seq: 1 });
    await until(() => [seed, legacy, today].every((client) => client.view.get(cloud('a')) === '42'), { what: 'every client to see 42' });
    // A new variable, as a today's client's set would create it: 2020 clients never see it.
    expect((await admin(a.httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('new'), value: '-1.5e3' })).status).toBe(200);
    await until(() => today.view.get(cloud('new')) === '-1.5e3', { what: 'the new variable' });
    await joinedTogether(legacy, seed, cloud('a'), '43');
    expect(seed.frames.join('\n')).not.toContain('new');
    const log = (await call(a.httpUrl, 'GET', `${roomPath(room)}/log`)).body as { user: string; value: string }[];
    expect(log.map((entry) => [entry.user, entry.value])).toEqual([
      ['legacy', '43'],
      [OPERATOR.name, '-1.5e3'],
      [OPERATOR.name, '42'],
    ]);
  });

  it('refuses an invalid set with a 4xx that says why, and changes nothing', async () => {
    const [a, b] = await pods();
    const room = 'api-set-refused';
    await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1' });
    await membersAre(a, room, 1);
    const path = `${roomPath(room)}/set`;
    const cases: [unknown, number, string][] = [
      [{ name: cloud('a'), value: 'text' }, 400, 'invalid-value'],
      [{ name: cloud('a'), value: true }, 400, 'invalid-value'],
      [{ name: cloud('a'), value: { n: 1 } }, 400, 'invalid-request'],
      [{ name: 'no prefix', value: '1' }, 400, 'invalid-name'],
      [{ name: cloud('a') }, 400, 'invalid-request'],
      [{ value: '1' }, 400, 'invalid-request'],
      [[cloud('a'), '1'], 400, 'invalid-request'],
    ];
    for (const [body, status, error] of cases) {
      const answer = await admin(b.httpUrl, 'POST', path, body);
      await expectDocumented(b.httpUrl, 'POST', '/api/v1/rooms/{room}/set', answer, status);
      expect(answer.body, JSON.stringify(body)).toMatchObject({ error });
    }
    const unknown = await admin(b.httpUrl, 'POST', `${roomPath('api-no-room')}/set`, { name: cloud('a'), value: '1' });
    expect([unknown.status, (unknown.body as { error: string }).error]).toEqual([404, 'unknown-room']);
    expect(await a.engine.store.snapshot(room)).toMatchObject({ seq: 0, variables: [[cloud('a'), '1']] });
    expect(await a.engine.store.snapshot('api-no-room')).toBeNull();
  });

  it("refuses a set beyond the room's limits with 409", async () => {
    const [a, b] = await pods({ MAX_VARIABLES: '1' });
    const room = 'api-set-limits';
    await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1' });
    await membersAre(a, room, 1);
    const answer = await admin(b.httpUrl, 'POST', `${roomPath(room)}/set`, { name: cloud('b'), value: '1' });
    await expectDocumented(b.httpUrl, 'POST', '/api/v1/rooms/{room}/set', answer, 409);
    expect(answer.body).toMatchObject({ error: 'too-many-variables' });
  });

  it('deletes a room: its clients on every pod are closed with 4010, its values and log are gone, a reconnect starts it anew', async () => {
    const [a, b] = await pods();
    const room = 'api-delete';
    const seed = await TestClient.join(a.url, room, 'seeder', { [cloud('a')]: '0' });
    await membersAre(a, room, 1);
    const today = await TestClient.join(b.url, room, 'today', {}, 'scratch');
    await membersAre(a, room, 2);
    await joinedTogether(seed, today, cloud('a'), '5');
    const answer = await admin(b.httpUrl, 'DELETE', roomPath(room));
    await expectDocumented(b.httpUrl, 'DELETE', '/api/v1/rooms/{room}', answer, 200);
    expect(answer.body).toEqual({ room, seq: 2 });
    expect((await closeOf(seed)).code).toBe(4010);
    expect((await closeOf(today)).code).toBe(4010);
    for (const pod of [a, b]) {
      expect((await call(pod.httpUrl, 'GET', roomPath(room))).status).toBe(404);
      expect((await call(pod.httpUrl, 'GET', `${roomPath(room)}/log`)).status).toBe(404);
    }
    expect((await admin(a.httpUrl, 'DELETE', roomPath(room))).status).toBe(404);
    // Today's clients reconnect on 4010: into an empty room, whichever pod they reach.
    const back = await TestClient.join(a.url, room, 'today', {}, 'scratch');
    await membersAre(b, room, 1);
    const again = await TestClient.join(b.url, room, 'other', {}, 'scratch');
    await membersAre(b, room, 2);
    await joinedTogether(back, again, cloud('a'), '1');
    expect((await call(b.httpUrl, 'GET', roomPath(room))).body).toEqual({ room, variables: { [cloud('a')]: '1' }, clients: 2 });
    expect(((await call(a.httpUrl, 'GET', `${roomPath(room)}/log`)).body as unknown[]).length).toBe(1);
  });

  it('kicks every connection of a username, in any case, on every pod (4002), and no one else', async () => {
    const [a, b] = await pods();
    const room = 'api-kick';
    const bob1 = await TestClient.join(a.url, room, 'Bob', {}, 'scratch');
    await membersAre(a, room, 1);
    const bob2 = await TestClient.join(b.url, room, 'bob', {}, 'scratch');
    const alice = await TestClient.join(b.url, room, 'alice', {}, 'scratch');
    const carol = await TestClient.join(a.url, room, 'carol', {}, 'scratch');
    await membersAre(a, room, 4);
    const answer = await admin(a.httpUrl, 'POST', `${roomPath(room)}/kick`, { user: 'BOB' });
    await expectDocumented(a.httpUrl, 'POST', '/api/v1/rooms/{room}/kick', answer, 200);
    expect(answer.body).toEqual({ room, user: 'BOB', seq: 1 });
    expect((await closeOf(bob1)).code).toBe(4002);
    expect((await closeOf(bob2)).code).toBe(4002);
    await membersAre(b, room, 2);
    await joinedTogether(alice, carol, cloud('still'), '1');
    expect([alice.closed, carol.closed]).toEqual([null, null]);
    expect((await admin(b.httpUrl, 'POST', `${roomPath('api-no-room')}/kick`, { user: 'bob' })).status).toBe(404);
    const invalid = await admin(b.httpUrl, 'POST', `${roomPath(room)}/kick`, { user: 'not a name' });
    expect([invalid.status, (invalid.body as { error: string }).error]).toEqual([400, 'invalid-user']);
  });
});
