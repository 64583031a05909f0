/**
 * Who may call the HTTP API and how much, and what it does with bad input: 401/403/404 for
 * admin calls, reads behind a token when configured, the per-address rate limit across
 * pods, huge bodies, bad JSON, injection in room names (a clear 4xx, and nothing changes),
 * the OpenAPI document, and the audit line and metric of every admin call.
 */
import { createMemoryEngine } from '@cloudvars/rooms';
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { engineLimits } from '../src/engine.ts';
import { API_ENV, OPERATOR, OTHER_OPERATOR, admin, call, expectDocumented, openApi, roomPath, podsPerTest } from './support/api.ts';
import { TestClient, until, upgradeStatus } from './support/client.ts';
import { cloud, metricValue } from './support/conformance.ts';
import { collectLogs, membersAre, type RunningGateway } from './support/gateway.ts';
import { TARGET_KINDS } from './support/targets.ts';

/** Every admin route, with a body that would be valid. */
const ADMIN_CALLS: readonly [string, string, unknown][] = [
  ['POST', '/api/v1/rooms/a-room/set', { name: cloud('a'), value: '1' }],
  ['DELETE', '/api/v1/rooms/a-room', undefined],
  ['POST', '/api/v1/rooms/a-room/kick', { user: 'bob' }],
  ['GET', '/api/v1/bans', undefined],
  ['POST', '/api/v1/bans', { kind: 'username', value: 'bob', seconds: 60 }],
  ['DELETE', '/api/v1/bans/username/bob', undefined],
  ['GET', '/api/v1/blocklist', undefined],
  ['PUT', '/api/v1/blocklist/word', undefined],
  ['DELETE', '/api/v1/blocklist/word', undefined],
  ['GET', '/api/v1/projects/a-room/policy', undefined],
  ['PUT', '/api/v1/projects/a-room/policy', { frozen: true }],
  ['DELETE', '/api/v1/projects/a-room/policy', undefined],
];

/** Room names that try to leave their Redis key, or are just odd; each maps to a room that does not exist. */
const HOSTILE_ROOMS: readonly string[] = [
  '{x}',
  'access-real}:vars',
  '~rooms',
  '~moderation}:bans',
  '*',
  'a b',
  '\u0000',
  '\r\nFLUSHALL\r\n',
  '../../etc/passwd',
  ':meta',
  '%',
  '☁',
];

describe.each(TARGET_KINDS)('HTTP API: access and input (%s)', (kind) => {
  const { pods, start } = podsPerTest(kind);

  it('answers admin calls 401 without a token, 403 with a wrong one, and lets every configured operator in', async () => {
    const [a, b] = await pods();
    for (const [method, path, body] of ADMIN_CALLS) {
      const route = path.replace('a-room', '{room}').replace('/username/bob', '/{kind}/{value}').replace('/word', '/{word}');
      const missing = await call(a.httpUrl, method, path, { body });
      await expectDocumented(a.httpUrl, method, route, missing, 401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="cloudvars"');
      expect(missing.body).toMatchObject({ error: 'token-required' });
      for (const token of ['wrong-token-0123456789', `${OPERATOR.token}x`, OPERATOR.token.slice(0, -1)]) {
        const wrong = await call(b.httpUrl, method, path, { body, token });
        await expectDocumented(b.httpUrl, method, route, wrong, 403);
        expect(wrong.body).toMatchObject({ error: 'token-refused' });
      }
      const basic = await call(b.httpUrl, method, path, { body, headers: { authorization: `Basic ${OPERATOR.token}` } });
      expect(basic.status).toBe(401);
      const allowed = await call(b.httpUrl, method, path, { body, token: OTHER_OPERATOR.token });
      expect([200, 201, 404], `${method} ${path}`).toContain(allowed.status);
    }
  });

  it('has no admin API without ADMIN_TOKENS (404 admin-api-disabled); reads stay public', async () => {
    const { gw } = await start({});
    for (const [method, path, body] of ADMIN_CALLS) {
      const answer = await call(gw.httpUrl, method, path, { body, token: OPERATOR.token });
      expect([answer.status, (answer.body as { error: string }).error], `${method} ${path}`).toEqual([404, 'admin-api-disabled']);
    }
    expect((await call(gw.httpUrl, 'GET', roomPath('a-room'))).body).toMatchObject({ error: 'unknown-room' });
  });

  it('makes room reads need a token with API_READS_NEED_TOKEN, the live subscription included', async () => {
    const [a, b] = await pods({ API_READS_NEED_TOKEN: 'true' });
    await TestClient.join(a.url, 'private', 'alice', { [cloud('a')]: '1' });
    await membersAre(a, 'private', 1);
    for (const path of [roomPath('private'), `${roomPath('private')}/log`]) {
      expect((await call(b.httpUrl, 'GET', path)).status).toBe(401);
      expect((await call(b.httpUrl, 'GET', path, { token: 'wrong-token-0123456789' })).status).toBe(403);
      expect((await call(b.httpUrl, 'GET', path, { token: OPERATOR.token })).status).toBe(200);
    }
    const live = `${b.url}api/v1/rooms/private/live`;
    expect((await upgradeStatus(live)).status).toBe(401);
    expect((await upgradeStatus(live, { authorization: `Bearer ${OPERATOR.token}` })).status).toBe(101);
    // A browser cannot send headers: the page offers its token as a subprotocol, and the server picks cloudvars-live.
    const browserLike = new WebSocket(live, ['cloudvars-live', `bearer.${Buffer.from(OPERATOR.token).toString('base64url')}`]);
    await new Promise<void>((resolve, reject) => {
      browserLike.once('open', () => resolve());
      browserLike.once('error', reject);
    });
    expect(browserLike.protocol).toBe('cloudvars-live');
    browserLike.close();
    expect((await call(b.httpUrl, 'GET', '/api/v1/openapi.json')).status).toBe(200);
  });

  it('limits API calls per address across every pod (429 with Retry-After), WebSocket subscriptions and calls with a wrong token included', async () => {
    const [a, b] = await pods({ API_RATE_LIMIT_PER_MINUTE: '4' });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await call(i % 2 === 0 ? a.httpUrl : b.httpUrl, 'GET', roomPath('limited'))).status);
    // A token that is not one of ours is no operator's: its call counts for the address.
    answers.push(
      (await call(b.httpUrl, 'POST', `${roomPath('limited')}/set`, { token: 'not-a-token-0123456789', body: { name: cloud('a'), value: '1' } })).status,
    );
    expect(answers).toEqual([404, 404, 404, 403]);
    const refused = await call(b.httpUrl, 'GET', roomPath('limited'));
    expect([refused.status, refused.body]).toEqual([429, { error: 'rate-limited', message: expect.any(String) }]);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(
      (await call(a.httpUrl, 'POST', `${roomPath('limited')}/set`, { token: 'not-a-token-0123456789', body: { name: cloud('a'), value: '1' } })).status,
    ).toBe(429);
    expect((await upgradeStatus(`${a.url}api/v1/rooms/limited/live`)).status).toBe(429);
  });

  it("counts an operator's calls apart from its address's (API_OPERATOR_RATE_LIMIT_PER_MINUTE): players behind the same address cannot starve it", async () => {
    const [a, b] = await pods({ API_RATE_LIMIT_PER_MINUTE: '2', API_OPERATOR_RATE_LIMIT_PER_MINUTE: '3' });
    const player = await TestClient.join(a.url, 'shared-address', 'player', { [cloud('a')]: '0' });
    await membersAre(a, 'shared-address', 1);
    // The players of the operator's address use up its budget.
    for (let i = 0; i < 2; i++) expect((await call(a.httpUrl, 'GET', roomPath('shared-address'))).status).toBe(200);
    expect((await call(b.httpUrl, 'GET', roomPath('shared-address'))).status).toBe(429);
    // The operator, from that address, still gets its own budget, across pods; reads with its token count there too.
    const set = (pod: RunningGateway, token: string = OPERATOR.token) =>
      call(pod.httpUrl, 'POST', `${roomPath('shared-address')}/set`, { token, body: { name: cloud('a'), value: '1' } });
    expect((await set(a)).status).toBe(200);
    expect((await call(b.httpUrl, 'GET', roomPath('shared-address'), { token: OPERATOR.token })).status).toBe(200);
    expect((await set(b)).status).toBe(200);
    const refused = await set(a);
    expect([refused.status, (refused.body as { error: string }).error]).toEqual([429, 'rate-limited']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Each operator has a budget of its own.
    expect((await set(b, OTHER_OPERATOR.token)).status).toBe(200);
    player.close();
  });

  it("counts an IPv6 address's API calls by its /64 (IPV6_PREFIX_LENGTH), like every per-address limit", async () => {
    const [a, b] = await pods({ API_RATE_LIMIT_PER_MINUTE: '4', TRUST_PROXY: 'true' });
    const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });
    const answers = [];
    // Two addresses of one /64 share one budget of 4, across pods.
    for (let i = 0; i < 4; i++) {
      const address = i % 2 === 0 ? '2001:db8:a:b::1' : '2001:db8:a:b:ffff:ffff:ffff:fffe';
      answers.push((await call(i % 2 === 0 ? a.httpUrl : b.httpUrl, 'GET', roomPath('limited'), from(address))).status);
    }
    expect(answers).toEqual([404, 404, 404, 404]);
    const refused = await call(b.httpUrl, 'GET', roomPath('limited'), from('2001:db8:a:b::77'));
    expect([refused.status, (refused.body as { error: string }).error]).toEqual([429, 'rate-limited']);
    expect((await upgradeStatus(`${a.url}api/v1/rooms/limited/live`, { 'x-forwarded-for': '2001:db8:a:b::1' })).status).toBe(429);
    // Another /64, and an IPv4 address, have budgets of their own.
    expect((await call(a.httpUrl, 'GET', roomPath('limited'), from('2001:db8:a:c::1'))).status).toBe(404);
    expect((await call(b.httpUrl, 'GET', roomPath('limited'), from('203.0.113.9'))).status).toBe(404);
  });

  it('answers bad bodies with a clear 4xx and changes nothing', async () => {
    const [a, b] = await pods({ MAX_PAYLOAD_BYTES: '65536', ALLOW_TEXT_VALUES: 'true' });
    const room = 'access-real';
    const client = await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1' });
    await membersAre(a, room, 1);
    const before = await a.engine.store.snapshot(room);
    const path = `${roomPath(room)}/set`;
    const huge = await admin(b.httpUrl, 'POST', path, { name: cloud('a'), value: 'x'.repeat(70_000) });
    expect([huge.status, (huge.body as { error: string }).error]).toEqual([413, 'body-too-large']);
    const cases: [string, Record<string, string>, number, string][] = [
      ['{"name":', {}, 400, 'invalid-json'],
      ['not json at all', {}, 400, 'invalid-json'],
      ['', {}, 400, 'invalid-json'],
      ['{"name":"☁ a","value":"1"}', { 'content-type': 'application/xml' }, 415, 'unsupported-media-type'],
      ['{"name":"☁ a","value":"1"}', { 'content-type': 'text/plain' }, 400, 'invalid-request'],
      // Prototype poisoning is refused by the parser, like bad JSON.
      ['{"__proto__":{"x":1},"name":"☁ a"}', {}, 400, 'invalid-json'],
    ];
    for (const [body, headers, status, error] of cases) {
      const answer = await call(b.httpUrl, 'POST', path, { body, token: OPERATOR.token, headers: { 'content-type': 'application/json', ...headers } });
      await expectDocumented(b.httpUrl, 'POST', '/api/v1/rooms/{room}/set', answer, status);
      expect(answer.body, body).toMatchObject({ error });
    }
    expect(await a.engine.store.snapshot(room)).toEqual(before);
    expect(client.frames).toEqual([]);
    expect(client.closed).toBeNull();
  });

  it('maps any room name to a room of its own: hostile names get 404 (too long: 400), and nothing changes', async () => {
    const [a, b] = await pods();
    const room = 'access-real';
    await TestClient.join(a.url, room, 'alice', { [cloud('a')]: '1' });
    await membersAre(a, room, 1);
    const keysBefore = await redisKeys(a);
    const before = { snapshot: await a.engine.store.snapshot(room), log: await a.engine.store.log(room, 100) };
    for (const name of HOSTILE_ROOMS) {
      const path = roomPath(name);
      const answers = [
        await call(b.httpUrl, 'GET', path),
        await call(a.httpUrl, 'GET', `${path}/log`),
        await admin(b.httpUrl, 'POST', `${path}/set`, { name: cloud('a'), value: '666' }),
        await admin(a.httpUrl, 'POST', `${path}/kick`, { user: 'alice' }),
        await admin(b.httpUrl, 'DELETE', path),
      ];
      expect(
        answers.map((answer) => [answer.status, (answer.body as { error: string }).error]),
        JSON.stringify(name),
      ).toEqual(Array(5).fill([404, 'unknown-room']));
    }
    const tooLong = await call(b.httpUrl, 'GET', roomPath('x'.repeat(1000)));
    await expectDocumented(b.httpUrl, 'GET', '/api/v1/rooms/{room}', tooLong, 400);
    expect((await admin(a.httpUrl, 'DELETE', roomPath('é'.repeat(1000)))).status).toBe(400);
    expect((await call(a.httpUrl, 'GET', '/api/v1/rooms/')).body).toMatchObject({ error: 'invalid-request' });
    expect({ snapshot: await b.engine.store.snapshot(room), log: await b.engine.store.log(room, 100) }).toEqual(before);
    expect(await redisKeys(a)).toEqual(keysBefore);
    expect((await call(a.httpUrl, 'GET', roomPath(room))).body).toMatchObject({ clients: 1, variables: { [cloud('a')]: 1 } });
  });

  it('publishes an OpenAPI 3.1 document of every route, with its schemas and who may call it', async () => {
    const [a] = await pods();
    const document = (await openApi(a.httpUrl)) as unknown as {
      openapi: string;
      paths: Record<string, Record<string, { security: unknown[]; 'x-access': string; responses: Record<string, unknown>; requestBody?: unknown }>>;
    };
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        'GET /api/v1/rooms/{room}',
        'GET /api/v1/rooms/{room}/log',
        'GET /api/v1/rooms/{room}/live',
        'POST /api/v1/rooms/{room}/set',
        'DELETE /api/v1/rooms/{room}',
        'POST /api/v1/rooms/{room}/kick',
        'GET /api/v1/bans',
        'POST /api/v1/bans',
        'DELETE /api/v1/bans/{kind}/{value}',
        'GET /api/v1/blocklist',
        'PUT /api/v1/blocklist/{word}',
        'DELETE /api/v1/blocklist/{word}',
        'GET /api/v1/projects/{room}/policy',
        'PUT /api/v1/projects/{room}/policy',
        'DELETE /api/v1/projects/{room}/policy',
        'GET /api/v1/openapi.json',
      ].sort(),
    );
    for (const [method, path] of ADMIN_CALLS.map(([m, p]) => [m.toLowerCase(), p] as const)) {
      const route = path.replace('a-room', '{room}').replace('/username/bob', '/{kind}/{value}').replace('/word', '/{word}');
      const operation = document.paths[route]?.[method];
      expect(operation?.['x-access'], route).toBe('admin');
      expect(operation?.security).toEqual([{ bearer: [] }]);
      expect(Object.keys(operation?.responses ?? {})).toContain('4XX');
    }
    expect(document.paths['/api/v1/rooms/{room}/live']?.get?.responses['101']).toBeDefined();
    expect(document.paths['/api/v1/rooms/{room}/set']?.post?.requestBody).toBeDefined();
  });
});

/** Every key under the pod's prefix but the rate limit's counters (API calls count them), sorted. */
async function redisKeys(pod: RunningGateway): Promise<string[]> {
  if (pod.engine.kind !== 'redis') return [];
  const client = new Redis(redisUrl());
  try {
    const keys = await client.keys(`${pod.config.redisKeyPrefix}*`);
    return keys.filter((key) => !key.includes('{~hits:')).sort();
  } finally {
    await client.quit();
  }
}

describe('HTTP API: audit', () => {
  it('logs every admin call with who, what and the result, and counts it by action and result', async () => {
    // A gateway as startGateway builds it, with a logger the test reads.
    const { lines, logger } = collectLogs();
    const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', ...API_ENV });
    const engine = createMemoryEngine({ limits: engineLimits(config) });
    const built = await buildApp({ config, engine, instanceId: 'audit', logger });
    const base = await built.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const client = await TestClient.join(base.replace(/^http/, 'ws'), 'audited', 'alice', {}, 'scratch');
      await until(async () => (await engine.store.memberCount('audited')) === 1);
      expect((await admin(base, 'POST', `${roomPath('audited')}/set`, { name: cloud('a'), value: '7' })).status).toBe(200);
      expect((await call(base, 'POST', `${roomPath('audited')}/kick`, { body: { user: 'alice' }, token: 'wrong-token-0123456789' })).status).toBe(403);
      expect((await admin(base, 'POST', '/api/v1/bans', { kind: 'username', value: 'troll', seconds: 60 })).status).toBe(201);
      await until(() => client.view.get(cloud('a')) === '7');
      const audit = lines.filter((line) => line.msg === 'admin call');
      expect(audit).toEqual([
        expect.objectContaining({ admin: OPERATOR.name, action: 'set', room: 'audited', name: cloud('a'), status: 200, result: 'ok', address: '127.0.0.1' }),
        expect.objectContaining({ admin: null, action: 'kick', method: 'POST', path: '/api/v1/rooms/audited/kick', status: 403, result: 'forbidden' }),
        expect.objectContaining({ admin: OPERATOR.name, action: 'ban', kind: 'username', value: 'troll', seconds: 60, status: 201, result: 'ok' }),
      ]);
      expect(JSON.stringify(lines)).not.toContain(OPERATOR.token);
      const exposition = await built.metrics.registry.metrics();
      expect(metricValue(exposition, 'cloudvars_admin_calls_total{action="set",result="ok"}')).toBe(1);
      expect(metricValue(exposition, 'cloudvars_admin_calls_total{action="kick",result="forbidden"}')).toBe(1);
      expect(metricValue(exposition, 'cloudvars_api_requests_total{route="/api/v1/rooms/:room/set",status="200"}')).toBe(1);
      client.close();
    } finally {
      await built.app.close();
      await engine.close();
    }
  });
});
