/**
 * The handshake hook (issue 22, HANDSHAKE_HOOK_URL) against a local HTTP server standing in
 * for an operator's account service: it admits, refuses (4002, 4004: the codes each dialect's
 * clients get), renames (the room sees the new name), and when it is slow, down or gives no
 * documented answer the fail mode decides; its answers are cached, and its calls capped.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloseCode, encodeHandshake, type DialectName } from '@cloudvars/protocol';
import type { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, until } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import { startGateway, type RunningGateway, type TestEnv } from './support/gateway.ts';

interface HookCall {
  readonly body: Record<string, unknown>;
  readonly authorization: string | undefined;
}

/** The stand-in service: `answer` decides each call (it may hold the response for later). */
class HookServer {
  readonly calls: HookCall[] = [];
  answer: (call: HookCall, response: ServerResponse) => void = (_call, response) => reply(response, { allow: true });
  private readonly server: Server;

  private constructor() {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      let text = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (text += chunk));
      request.on('end', () => {
        const call = { body: JSON.parse(text) as Record<string, unknown>, authorization: request.headers.authorization };
        this.calls.push(call);
        this.answer(call, response);
      });
    });
  }

  static async start(): Promise<HookServer> {
    const hook = new HookServer();
    await new Promise<void>((resolve) => hook.server.listen(0, '127.0.0.1', resolve));
    return hook;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/check`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function reply(response: ServerResponse, body: unknown, status = 200): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const started: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const running of started.splice(0).reverse()) await running.stop();
});

async function setUp(env: TestEnv = {}): Promise<{ hook: HookServer; gateway: RunningGateway }> {
  const hook = await HookServer.start();
  started.push(hook);
  const gateway = await startGateway({ HANDSHAKE_HOOK_URL: hook.url, HANDSHAKE_HOOK_SECRET: 'hook-secret-0123456789', ...env });
  started.push(gateway);
  return { hook, gateway };
}

/** A client of `dialect` sends its handshake: it ends joined, or closed with a code. */
async function handshake(
  gateway: RunningGateway,
  dialect: DialectName,
  room: string,
  user: string,
  headers: Record<string, string> = {},
): Promise<{ client: TestClient; outcome: number | 'joined' }> {
  const before = await gateway.engine.store.memberCount(room);
  const client = await TestClient.connect(gateway.url, { dialect, headers });
  client.send(encodeHandshake(dialect, room, user, dialect === 'scratch' ? {} : { [cloud('score')]: '0' }));
  await until(async () => client.closed !== null || (await gateway.engine.store.memberCount(room)) > before, { what: `${user} to join or be refused` });
  return { client, outcome: client.closed?.code ?? 'joined' };
}

/** Closes a client and waits for the store to count it out, so the next handshake's count starts clean. */
async function leave(gateway: RunningGateway, client: TestClient, room: string): Promise<void> {
  const before = await gateway.engine.store.memberCount(room);
  const wasJoined = client.closed === null;
  client.close();
  await client.waitClose();
  if (wasJoined) await until(async () => (await gateway.engine.store.memberCount(room)) < before, { what: 'the client to leave' });
}

async function hookCalls(gateway: RunningGateway, outcome: string): Promise<number> {
  const counter = gateway.metrics.registry.getSingleMetric('cloudvars_handshake_hook_calls_total') as Counter | undefined;
  return (await counter?.get())?.values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
}

const DIALECTS: readonly DialectName[] = ['seed', 'scratch'];

describe('handshake hook', () => {
  it('warns at start when no secret is set: addressHash is then keyed by the URL the service knows', async () => {
    const warnings = async (env: TestEnv): Promise<string[]> => {
      const lines: string[] = [];
      const gateway = await startGateway({ HANDSHAKE_HOOK_URL: 'http://127.0.0.1:9/hook', ...env }, undefined, {
        level: 'warn',
        stream: { write: (line) => lines.push(line) },
      });
      await gateway.stop();
      return lines.filter((line) => line.includes('CV_WARN_HOOK_NO_SECRET'));
    };
    expect(await warnings({})).toHaveLength(1);
    expect(await warnings({ HANDSHAKE_HOOK_SECRET: 'hook-secret-0123456789' })).toEqual([]);
  });

  it.each(DIALECTS)('admits a %s client the hook allows, telling it the documented fields', async (dialect) => {
    const { hook, gateway } = await setUp();
    const { client, outcome } = await handshake(gateway, dialect, 'hook-admit', 'alice', { 'user-agent': 'test-bot/1.0', origin: 'https://example.org' });
    expect(outcome).toBe('joined');
    expect(hook.calls).toHaveLength(1);
    const [call] = hook.calls;
    expect(call?.authorization).toBe('Bearer hook-secret-0123456789');
    expect(call?.body).toEqual({
      project: 'hook-admit',
      user: 'alice',
      dialect,
      userAgent: 'test-bot/1.0',
      origin: 'https://example.org',
      addressHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The address goes only hashed.
    expect(JSON.stringify(call?.body)).not.toContain('127.0.0.1');
    expect(await hookCalls(gateway, 'allow')).toBe(1);
    client.close();
  });

  it.each(DIALECTS.flatMap((dialect) => [CloseCode.Username, CloseCode.ProjectUnavailable].map((code) => [dialect, code] as const)))(
    'refuses a %s client with the code the hook names (%i), and it never joins',
    async (dialect, code) => {
      const { hook, gateway } = await setUp();
      hook.answer = (_call, response) => reply(response, { allow: false, code, reason: 'not a member' });
      const { outcome } = await handshake(gateway, dialect, 'hook-refuse', 'mallory');
      expect(outcome).toBe(code);
      expect(await gateway.engine.store.memberCount('hook-refuse')).toBe(0);
      expect(await hookCalls(gateway, 'refuse')).toBe(1);
    },
  );

  it('renames the user: the room knows the client by the name the hook gave', async () => {
    const { hook, gateway } = await setUp();
    hook.answer = (call, response) => reply(response, call.body.user === 'guest' ? { allow: true, user: 'verified_bob' } : { allow: true });
    const { client, outcome } = await handshake(gateway, 'scratch', 'hook-rename', 'guest');
    expect(outcome).toBe('joined');
    client.set(cloud('score'), '5');
    await until(async () => ((await gateway.engine.store.log('hook-rename', 10)) ?? []).length > 0, { what: 'the set to be logged' });
    expect((await gateway.engine.store.log('hook-rename', 10))?.map((entry) => entry.user)).toEqual(['verified_bob']);
    expect(await hookCalls(gateway, 'rename')).toBe(1);
    client.close();
  });

  it('treats a rename to a name the dialect refuses as the hook being down', async () => {
    const { hook, gateway } = await setUp({ HANDSHAKE_HOOK_FAIL_MODE: 'closed' });
    hook.answer = (_call, response) => reply(response, { allow: true, user: 'no spaces allowed' });
    expect((await handshake(gateway, 'scratch', 'hook-bad-rename', 'guest')).outcome).toBe(CloseCode.InternalError);
  });

  it.each([
    ['open', 'joined'],
    ['closed', CloseCode.InternalError],
  ] as const)('a hook slower than its timeout is down: fail mode %s gives %s', async (mode, expected) => {
    const { hook, gateway } = await setUp({ HANDSHAKE_HOOK_TIMEOUT_MS: '100', HANDSHAKE_HOOK_FAIL_MODE: mode });
    // Never answered: the server's teardown ends the response.
    hook.answer = () => undefined;
    const { client, outcome } = await handshake(gateway, 'scratch', 'hook-slow', 'alice');
    expect(outcome).toBe(expected);
    expect(await hookCalls(gateway, 'timeout')).toBe(1);
    client.close();
  });

  it.each([
    ['open', 'joined'],
    ['closed', CloseCode.InternalError],
  ] as const)('a hook that is unreachable or answers off the contract is down: fail mode %s gives %s', async (mode, expected) => {
    const { hook, gateway } = await setUp({ HANDSHAKE_HOOK_FAIL_MODE: mode, HANDSHAKE_HOOK_CACHE_SECONDS: '0' });
    const offContract: Array<(response: ServerResponse) => void> = [
      (response) => reply(response, { allow: true }, 500),
      (response) => reply(response, { allow: 'yes' }),
      (response) => reply(response, { allow: false, code: 4003, reason: 'not a documented code' }),
      (response) => response.writeHead(200).end('not json'),
      // A documented answer, but past the 4 KiB an answer may take (whitespace JSON allows).
      (response) => response.writeHead(200, { 'content-type': 'application/json' }).end(`{"allow":true}${' '.repeat(64 * 1024)}`),
    ];
    for (const [index, answer] of offContract.entries()) {
      hook.answer = (_call, response) => answer(response);
      const { client, outcome } = await handshake(gateway, 'scratch', 'hook-down', `user${index}`);
      expect(outcome, `answer ${index}`).toBe(expected);
      await leave(gateway, client, 'hook-down');
    }
    expect(await hookCalls(gateway, 'bad-answer')).toBe(offContract.length);
    await hook.stop();
    const { client, outcome } = await handshake(gateway, 'scratch', 'hook-down', 'unreachable');
    expect(outcome).toBe(expected);
    expect(await hookCalls(gateway, 'error')).toBe(1);
    client.close();
  });

  it('caches an answer: the same client joining again within the TTL makes no call; another user does', async () => {
    const { hook, gateway } = await setUp({ HANDSHAKE_HOOK_CACHE_SECONDS: '60' });
    hook.answer = (call, response) => reply(response, call.body.user === 'mallory' ? { allow: false, code: 4002, reason: 'banned' } : { allow: true });
    const first = await handshake(gateway, 'scratch', 'hook-cache', 'alice');
    await leave(gateway, first.client, 'hook-cache');
    const second = await handshake(gateway, 'scratch', 'hook-cache', 'alice');
    expect(second.outcome).toBe('joined');
    expect((await handshake(gateway, 'scratch', 'hook-cache', 'mallory')).outcome).toBe(CloseCode.Username);
    // A refusal is remembered too.
    expect((await handshake(gateway, 'scratch', 'hook-cache', 'mallory')).outcome).toBe(CloseCode.Username);
    expect(hook.calls.map((call) => call.body.user)).toEqual(['alice', 'mallory']);
    second.client.close();
  });

  it('caps the calls in flight: a handshake beyond the cap gets the fail mode, the others their answer', async () => {
    const { hook, gateway } = await setUp({ HANDSHAKE_HOOK_MAX_IN_FLIGHT: '1', HANDSHAKE_HOOK_FAIL_MODE: 'closed' });
    const held: ServerResponse[] = [];
    hook.answer = (_call, response) => held.push(response);
    const before = await TestClient.connect(gateway.url, { dialect: 'scratch' });
    before.send(encodeHandshake('scratch', 'hook-cap', 'first', {}));
    await until(() => held.length === 1, { what: 'the first call to reach the hook' });
    const { outcome } = await handshake(gateway, 'scratch', 'hook-cap', 'second');
    expect(outcome).toBe(CloseCode.InternalError);
    expect(await hookCalls(gateway, 'busy')).toBe(1);
    expect(hook.calls).toHaveLength(1);
    reply(held[0] as ServerResponse, { allow: true });
    await until(async () => (await gateway.engine.store.memberCount('hook-cap')) === 1, { what: 'the first client to join' });
    expect(before.closed).toBeNull();
    before.close();
  });
});
