/**
 * Bans and the run-time block list through the HTTP API, on one in-memory gateway and on two
 * pods sharing Redis: made on one pod, they hold at the next handshake on every pod, with
 * the documented close codes, and bans lapse by themselves.
 */
import { describe, expect, it } from 'vitest';
import { OPERATOR, admin, call, expectDocumented, podsPerTest } from './support/api.ts';
import { TestClient, joinOutcome, joinedTogether, until } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import { TARGET_KINDS } from './support/targets.ts';

describe.each(TARGET_KINDS)('HTTP API: moderation (%s)', (kind) => {
  const { pods } = podsPerTest(kind);

  it('bans a username on one pod; every pod refuses it (4002) at the next handshake, until the ban lapses', async () => {
    const [a, b] = await pods();
    const room = 'ban-user';
    // Long enough for the checks below on a loaded machine (a 1 s ban lapsed before them once).
    const answer = await admin(a.httpUrl, 'POST', '/api/v1/bans', { kind: 'username', value: 'Mallory', seconds: 5, reason: 'spam' });
    await expectDocumented(a.httpUrl, 'POST', '/api/v1/bans', answer, 201);
    expect(answer.body).toMatchObject({ kind: 'username', value: 'mallory', room: null, by: OPERATOR.name, reason: 'spam' });
    const { createdAt, expiresAt } = answer.body as { createdAt: number; expiresAt: number };
    expect(expiresAt - createdAt).toBe(5_000);
    expect(await joinOutcome(b, room, 'MALLORY')).toBe(4002);
    expect(await joinOutcome(a, room, 'mallory')).toBe(4002);
    expect(await joinOutcome(b, room, 'alice')).toBe('joined');
    const listed = await admin(b.httpUrl, 'GET', '/api/v1/bans');
    await expectDocumented(b.httpUrl, 'GET', '/api/v1/bans', listed, 200);
    expect((listed.body as { bans: unknown[] }).bans).toEqual([answer.body]);
    // Five seconds after it was given the ban has lapsed by itself, on every pod.
    await until(async () => (await joinOutcome(b, room, 'mallory')) === 'joined', { what: 'the ban to lapse', timeoutMs: 20_000 });
    expect(await joinOutcome(a, room, 'Mallory')).toBe('joined');
    expect((await admin(a.httpUrl, 'GET', '/api/v1/bans')).body).toEqual({ bans: [] });
  });

  it('bans an address in one room (4004 there, welcome elsewhere) and lifts the ban', async () => {
    const [a, b] = await pods();
    const answer = await admin(b.httpUrl, 'POST', '/api/v1/bans', { kind: 'address', value: '127.0.0.1', seconds: 600, room: 'ban-address' });
    await expectDocumented(b.httpUrl, 'POST', '/api/v1/bans', answer, 201);
    expect(answer.body).toMatchObject({ kind: 'address', value: '127.0.0.1', room: 'ban-address' });
    expect(await joinOutcome(a, 'ban-address', 'alice')).toBe(4004);
    expect(await joinOutcome(b, 'ban-address', 'bob')).toBe(4004);
    expect(await joinOutcome(a, 'elsewhere', 'alice')).toBe('joined');
    const lifted = await admin(a.httpUrl, 'DELETE', '/api/v1/bans/address/127.0.0.1?room=ban-address');
    await expectDocumented(a.httpUrl, 'DELETE', '/api/v1/bans/{kind}/{value}', lifted, 200);
    expect(lifted.body).toEqual({ removed: true });
    expect(await joinOutcome(b, 'ban-address', 'alice')).toBe('joined');
    const again = await admin(b.httpUrl, 'DELETE', '/api/v1/bans/address/127.0.0.1?room=ban-address');
    await expectDocumented(b.httpUrl, 'DELETE', '/api/v1/bans/{kind}/{value}', again, 404);
    expect(again.body).toMatchObject({ error: 'not-banned' });
  });

  it('bans an IPv6 address by its /64 (IPV6_PREFIX_LENGTH), the unit the handshake checks, and lifts it as banned or as listed', async () => {
    const [a, b] = await pods({ TRUST_PROXY: 'true' });
    const room = 'ban-ipv6';
    const answer = await admin(a.httpUrl, 'POST', '/api/v1/bans', { kind: 'address', value: '2001:DB8:A:B::1', seconds: 600 });
    await expectDocumented(a.httpUrl, 'POST', '/api/v1/bans', answer, 201);
    expect(answer.body).toMatchObject({ kind: 'address', value: '2001:db8:a:b:0:0:0:0/64', room: null });
    const listed = await admin(b.httpUrl, 'GET', '/api/v1/bans');
    await expectDocumented(b.httpUrl, 'GET', '/api/v1/bans', listed, 200);
    expect((listed.body as { bans: unknown[] }).bans).toEqual([answer.body]);
    // The banned address, and any other of its /64, on every pod; another /64 and IPv4 are welcome.
    expect(await joinOutcome(b, room, 'alice', '2001:db8:a:b::1')).toBe(4004);
    expect(await joinOutcome(a, room, 'alice', '2001:db8:a:b:ffff:ffff:ffff:fffe')).toBe(4004);
    expect(await joinOutcome(b, room, 'alice', '2001:db8:a:c::1')).toBe('joined');
    expect(await joinOutcome(a, room, 'alice', '203.0.113.1')).toBe('joined');
    // Lifted by another address of the /64: the ban is the prefix's.
    const lifted = await admin(b.httpUrl, 'DELETE', '/api/v1/bans/address/2001:db8:a:b::99');
    await expectDocumented(b.httpUrl, 'DELETE', '/api/v1/bans/{kind}/{value}', lifted, 200);
    expect(await joinOutcome(a, room, 'alice', '2001:db8:a:b::1')).toBe('joined');
    // Banned again in one room, and lifted by its value as listed (the prefix, URL-encoded).
    const again = await admin(a.httpUrl, 'POST', '/api/v1/bans', { kind: 'address', value: '2001:db8:a:b::5', seconds: 600, room });
    const value = (again.body as { value: string }).value;
    expect(await joinOutcome(b, room, 'alice', '2001:db8:a:b::1')).toBe(4004);
    expect(await joinOutcome(b, 'elsewhere', 'alice', '2001:db8:a:b::1')).toBe('joined');
    expect((await admin(a.httpUrl, 'DELETE', `/api/v1/bans/address/${encodeURIComponent(value)}?room=${room}`)).body).toEqual({ removed: true });
    expect(await joinOutcome(a, room, 'alice', '2001:db8:a:b::1')).toBe('joined');
    expect((await admin(a.httpUrl, 'GET', '/api/v1/bans')).body).toEqual({ bans: [] });
    // A prefix of another length is no ban this server could ever check.
    const wrong = await admin(a.httpUrl, 'POST', '/api/v1/bans', { kind: 'address', value: '2001:db8:a:b::/48', seconds: 600 });
    expect([wrong.status, (wrong.body as { error: string }).error]).toEqual([400, 'invalid-ban-value']);
  });

  it('bans in a room named by its room id as the API answers it, as by its project id (the body is decoded like a path)', async () => {
    const [a, b] = await pods();
    const projectId = 'p4-@Ban Me (1).sb3';
    const owner = await TestClient.connect(a.url, { dialect: 'scratch' });
    owner.sendJson({ method: 'handshake', project_id: projectId, user: 'owner' });
    await until(async () => (await call(b.httpUrl, 'GET', `/api/v1/rooms/${encodeURIComponent(projectId)}`)).status === 200, { what: 'the room to exist' });
    const room = ((await call(b.httpUrl, 'GET', `/api/v1/rooms/${encodeURIComponent(projectId)}`)).body as { room: string }).room;
    expect(room).toBe('p4-%40Ban%20Me%20%281%29.sb3');
    const byRoomId = await admin(a.httpUrl, 'POST', '/api/v1/bans', { kind: 'username', value: 'mallory', seconds: 600, room });
    expect(byRoomId.body).toMatchObject({ room });
    const byProjectId = await admin(b.httpUrl, 'POST', '/api/v1/bans', { kind: 'username', value: 'trudy', seconds: 600, room: projectId });
    expect(byProjectId.body).toMatchObject({ room });
    for (const [pod, user] of [
      [a, 'mallory'],
      [b, 'trudy'],
    ] as const) {
      const client = await TestClient.connect(pod.url, { dialect: 'scratch' });
      client.sendJson({ method: 'handshake', project_id: projectId, user });
      expect((await client.waitClose()).code).toBe(4002);
    }
    // A "%" that escapes nothing is refused, as it is in a path, instead of naming another room.
    const malformed = await admin(a.httpUrl, 'POST', '/api/v1/bans', { kind: 'username', value: 'bob', seconds: 60, room: '100%' });
    expect([malformed.status, (malformed.body as { error: string }).error]).toEqual([400, 'invalid-room']);
    owner.close();
  });

  it('leaves clients already connected alone when their name is banned: an operator kicks them', async () => {
    const [a, b] = await pods();
    const room = 'ban-then-kick';
    const troll = await TestClient.join(a.url, room, 'troll', {}, 'scratch');
    const other = await TestClient.join(b.url, room, 'other', {}, 'scratch');
    await until(async () => (await a.engine.store.memberCount(room)) === 2);
    expect((await admin(b.httpUrl, 'POST', '/api/v1/bans', { kind: 'username', value: 'troll', seconds: 600 })).status).toBe(201);
    await joinedTogether(troll, other, cloud('x'), '1');
    expect((await admin(b.httpUrl, 'POST', '/api/v1/rooms/ban-then-kick/kick', { user: 'troll' })).status).toBe(200);
    expect((await troll.waitClose()).code).toBe(4002);
    expect(await joinOutcome(a, room, 'troll')).toBe(4002);
  });

  it('changes the username block list at run time, on every pod (4002), beside USERNAME_BLOCKLIST', async () => {
    const [a, b] = await pods();
    const room = 'blocklist';
    const added = await admin(a.httpUrl, 'PUT', '/api/v1/blocklist/Troll');
    await expectDocumented(a.httpUrl, 'PUT', '/api/v1/blocklist/{word}', added, 200);
    expect(added.body).toEqual({ word: 'troll', added: true });
    expect((await admin(b.httpUrl, 'PUT', '/api/v1/blocklist/troll')).body).toEqual({ word: 'troll', added: false });
    const listed = await admin(b.httpUrl, 'GET', '/api/v1/blocklist');
    await expectDocumented(b.httpUrl, 'GET', '/api/v1/blocklist', listed, 200);
    expect(listed.body).toEqual({ words: ['troll'], configured: [] });
    expect(await joinOutcome(b, room, 'xTROLLx')).toBe(4002);
    expect(await joinOutcome(a, room, 'friend')).toBe('joined');
    const removed = await admin(b.httpUrl, 'DELETE', '/api/v1/blocklist/TROLL');
    await expectDocumented(b.httpUrl, 'DELETE', '/api/v1/blocklist/{word}', removed, 200);
    expect(await joinOutcome(a, room, 'xTROLLx')).toBe('joined');
    const gone = await admin(a.httpUrl, 'DELETE', '/api/v1/blocklist/troll');
    expect([gone.status, (gone.body as { error: string }).error]).toEqual([404, 'not-blocked']);
  });

  it('refuses a ban or a word that could never match, with 400, and stores nothing', async () => {
    const [a, b] = await pods();
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/v1/bans', { kind: 'username', value: 'two words', seconds: 60 }, 'invalid-ban-value'],
      ['POST', '/api/v1/bans', { kind: 'address', value: 'not-an-address', seconds: 60 }, 'invalid-ban-value'],
      ['POST', '/api/v1/bans', { kind: 'username', value: 'bob', seconds: 0 }, 'invalid-request'],
      ['POST', '/api/v1/bans', { kind: 'username', value: 'bob', seconds: 366 * 24 * 3600 }, 'invalid-request'],
      ['POST', '/api/v1/bans', { kind: 'user', value: 'bob', seconds: 60 }, 'invalid-request'],
      ['POST', '/api/v1/bans', { kind: 'username', value: 'bob', seconds: 60, room: 'x'.repeat(1000) }, 'invalid-request'],
      ['POST', '/api/v1/bans', { kind: 'username', value: 'bob', seconds: 60, reason: 'x'.repeat(201) }, 'invalid-request'],
      ['PUT', '/api/v1/blocklist/no%20spaces', undefined, 'invalid-request'],
      ['DELETE', '/api/v1/bans/address/nope', undefined, 'invalid-ban-value'],
      ['POST', '/api/v1/bans', { kind: 'address', value: '203.0.113.0/24', seconds: 60 }, 'invalid-ban-value'],
    ];
    for (const [method, path, body, error] of cases) {
      const answer = await admin(b.httpUrl, method, path, body);
      expect([answer.status, (answer.body as { error: string }).error], `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}`).toEqual([400, error]);
    }
    expect((await admin(a.httpUrl, 'GET', '/api/v1/bans')).body).toEqual({ bans: [] });
    expect(((await admin(a.httpUrl, 'GET', '/api/v1/blocklist')).body as { words: string[] }).words).toEqual([]);
    expect((await call(a.httpUrl, 'GET', '/api/v1/bans')).status).toBe(401);
  });
});
