/**
 * What one address can make the cluster hold is bounded (issue 12): rooms it creates a
 * minute, how long a room nobody changed is kept, upgrades a second; and the optional
 * browser-Origin and User-Agent policies. (What its sets can make rooms hold:
 * stored-bytes.test.ts.)
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SETTINGS } from '../src/config.ts';
import { TestClient, until, upgradeStatus } from './support/client.ts';
import { cloud, refusal, handshakeOf } from './support/conformance.ts';
import { startTarget, type Target } from './support/targets.ts';
import { startGateway, type RunningGateway } from './support/gateway.ts';
import { createRedisEngine } from '@cloudvars/rooms';
import { deletePrefix, testPrefix } from '@cloudvars/test-support/redis-engines';
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { engineLimits } from '../src/engine.ts';

const targets: Target[] = [];
const gateways: RunningGateway[] = [];
afterEach(async () => {
  await Promise.all(targets.splice(0).map((target) => target.stop()));
  await Promise.all(
    gateways.splice(0).map(async (gateway) => {
      await gateway.stop();
      await gateway.engine.close();
      await deletePrefix(gateway.config.redisUrl ?? '', gateway.config.redisKeyPrefix);
    }),
  );
});

async function start(kind: 'memory' | 'redis', env: Record<string, string> = {}): Promise<Target> {
  const target = await startTarget(kind, env);
  targets.push(target);
  return target;
}

/**
 * One create-and-leave attempt: upgrade, handshake into a new room, leave once the server
 * answered. The initial value is invalid on purpose: a creator gets its correction, the one
 * answer that says the room was made; a refusal closes the socket instead.
 */
function createAndLeave(url: string, room: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = new WebSocket(url);
    socket.once('open', () => socket.send(JSON.stringify(handshakeOf('seed', room, 'looper', { [cloud('a')]: 'not a number' }))));
    socket.once('message', () => socket.close(1000));
    socket.once('close', () => resolve());
    socket.once('error', () => undefined);
  });
}

async function labelled(
  metric: { get(): Promise<{ values: Array<{ labels: Record<string, string | number>; value: number }> }> },
  label: string,
  value: string,
): Promise<number> {
  return (await metric.get()).values.find((entry) => entry.labels[label] === value)?.value ?? 0;
}

/** The defaults the first test runs with (the test support raises them for every other test). */
const NEW_ROOMS = SETTINGS.MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE.default;
const HANDSHAKES = SETTINGS.MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND.default;
const ATTEMPTS = 10_000;
/**
 * The engine's clock moves this much per attempt, whatever the machine's speed: the attempts
 * span 50 s of it, one creation window, at twice the handshake rate, so both limits engage
 * and the bound is exactly NEW_ROOMS however long the run takes.
 */
const CLOCK_STEP_MS = 5;
const CREATION_WINDOW_MS = 60_000;

describe('bounded by design', () => {
  it(`leaves at most MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE (${NEW_ROOMS}) rooms in Redis after ${ATTEMPTS} create-and-leave handshakes from one address, each kept only UNTOUCHED_ROOM_TTL_SECONDS`, async () => {
    let clock = Date.now();
    const env = {
      REDIS_URL: redisUrl(),
      REDIS_KEY_PREFIX: testPrefix(),
      MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE: String(NEW_ROOMS),
      MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND: String(HANDSHAKES),
    };
    // The limits' windows are the engine's: an injected clock the attempts move, not the machine's.
    const gw = await startGateway(env, (config) =>
      createRedisEngine({ url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX, limits: engineLimits(config), now: () => clock }),
    );
    gateways.push(gw);
    const windows = Math.floor((ATTEMPTS * CLOCK_STEP_MS) / CREATION_WINDOW_MS) + 1;
    expect(windows, 'the attempts fit one creation window of the engine clock').toBe(1);
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < ATTEMPTS) {
          clock += CLOCK_STEP_MS;
          await createAndLeave(gw.url, `loop-${next++}`);
        }
      }),
    );
    // Every attempt was answered: refused before the upgrade, refused at the join, or created.
    const refusedUpgrades = async (): Promise<number> => labelled(gw.metrics.upgradesRefused, 'reason', 'handshake-rate');
    const refusedCreations = async (): Promise<number> => labelled(gw.metrics.joins, 'outcome', 'room-creation-limit');
    const created = async (): Promise<number> => labelled(gw.metrics.joins, 'outcome', 'created');
    await until(async () => (await refusedUpgrades()) + (await refusedCreations()) + (await created()) >= ATTEMPTS, {
      what: 'the attempts answered',
      timeoutMs: 60_000,
    });
    // Both limits engaged: twice the handshake rate, and more joins than creations allowed.
    expect(await refusedUpgrades()).toBeGreaterThan(0);
    expect(await refusedCreations()).toBeGreaterThan(0);
    const redis = new Redis(gw.config.redisUrl ?? '');
    try {
      const metas: string[] = [];
      let cursor = '0';
      do {
        const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${gw.config.redisKeyPrefix}{loop-*}:meta`, 'COUNT', 1000);
        cursor = nextCursor;
        metas.push(...keys);
      } while (cursor !== '0');
      expect(metas.length).toBeGreaterThan(0);
      expect(metas.length).toBeLessThanOrEqual(NEW_ROOMS * windows);
      // Nobody changed them: Redis keeps them for the short ttl (plus the lease and a margin), not 30 days.
      const bound = (SETTINGS.UNTOUCHED_ROOM_TTL_SECONDS.default + 15 + 60) * 1000;
      for (const key of metas) expect(await redis.pttl(key)).toBeLessThanOrEqual(bound);
    } finally {
      await redis.quit();
    }
    expect(await created()).toBeLessThanOrEqual(NEW_ROOMS * windows);
  }, 180_000);

  it('refuses with 4003 a handshake that would create one room more than MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE, and still joins existing rooms', async () => {
    const target = await start('memory', { MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE: '2' });
    const first = await TestClient.join(target.url(), 'made-1', 'alice', { [cloud('a')]: '0' });
    await until(async () => (await target.gw.engine.store.memberCount('made-1')) === 1, { what: 'the first room' });
    await TestClient.join(target.url(), 'made-2', 'alice', { [cloud('a')]: '0' });
    await until(async () => (await target.gw.engine.store.memberCount('made-2')) === 1, { what: 'the second room' });
    expect(await refusal(target.url(), [handshakeOf('seed', 'made-3', 'alice', { [cloud('a')]: '0' })])).toEqual({ code: 4003, frames: [] });
    const joiner = await TestClient.join(target.url(), 'made-1', 'bob', { [cloud('a')]: '0' });
    await until(async () => (await target.gw.engine.store.memberCount('made-1')) === 2, { what: 'a join of an existing room' });
    expect([first.closed, joiner.closed]).toEqual([null, null]);
  });

  it('refuses upgrades beyond MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND with HTTP 429 and a Retry-After', async () => {
    const target = await start('redis', { MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND: '5' });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => upgradeStatus(i % 2 === 0 ? target.gw.url : (target.other?.url ?? target.gw.url))));
    const refused = answers.filter((answer) => answer.status === 429);
    // Counted across both pods: at most 5 a second get through, whichever pod they reach.
    expect(answers.filter((answer) => answer.status === 101).length).toBeLessThanOrEqual(10);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    expect(refused.every((answer) => Number(answer.retryAfter) >= 1)).toBe(true);
  });
});

describe('browser and client policies', () => {
  it('refuses upgrades from a browser Origin outside ALLOWED_ORIGINS with HTTP 403, and lets listed origins and clients without an Origin in', async () => {
    const target = await start('memory', { ALLOWED_ORIGINS: 'https://play.example.org, http://localhost:8601' });
    expect((await upgradeStatus(target.url(), { origin: 'https://evil.example.com' })).status).toBe(403);
    expect((await upgradeStatus(target.url(), { origin: 'https://PLAY.example.org' })).status).toBe(101);
    expect((await upgradeStatus(target.url(), { origin: 'http://localhost:8601' })).status).toBe(101);
    expect((await upgradeStatus(target.url())).status).toBe(101);
  });

  it("lets in, under ALLOWED_ORIGINS, an Origin naming the server's own Host (Python's websocket-client sends http://<host:port>), and still refuses other sites", async () => {
    const target = await start('memory', { ALLOWED_ORIGINS: 'https://play.example.org' });
    const hostPort = new URL(target.url()).host;
    // websocket-client's handshake: Host is the URL's host:port, Origin is http:// and the same.
    expect((await upgradeStatus(target.url(), { origin: `http://${hostPort}` })).status).toBe(101);
    expect((await upgradeStatus(target.url(), { origin: `https://${hostPort.toUpperCase()}` })).status).toBe(101);
    const otherPort = `${new URL(target.url()).hostname}:${Number(new URL(target.url()).port) === 1 ? 2 : 1}`;
    expect((await upgradeStatus(target.url(), { origin: `http://${otherPort}` })).status).toBe(403);
    expect((await upgradeStatus(target.url(), { origin: 'null' })).status).toBe(403);
    expect((await upgradeStatus(target.url(), { origin: 'https://evil.example.com' })).status).toBe(403);
  });

  it('closes a client without a User-Agent (REQUIRE_USER_AGENT) or with a blocked one (BLOCKED_USER_AGENTS) with 4006, saying why in the close frame, no text frame', async () => {
    const target = await start('memory', { REQUIRE_USER_AGENT: 'true', BLOCKED_USER_AGENTS: 'python-requests, curl' });
    const closeOf = (headers: Record<string, string>) =>
      new Promise<{ code: number; reason: string; frames: string[] }>((resolve) => {
        const frames: string[] = [];
        const socket = new WebSocket(target.url(), { headers });
        socket.on('message', (data) => frames.push(String(data)));
        socket.on('close', (code, reason) => resolve({ code, reason: String(reason), frames }));
      });
    for (const headers of [{ 'user-agent': '' }, { 'user-agent': 'python-requests/2.31' }, { 'user-agent': 'My Curl Bot' }]) {
      const refused = await closeOf(headers);
      expect(refused.code).toBe(4006);
      expect(refused.reason).toMatch(/User-Agent/);
      expect(refused.frames).toEqual([]);
    }
    const named = new WebSocket(target.url(), { headers: { 'user-agent': 'my-bot/1.0 (https://example.org/bot)' } });
    await new Promise((resolve) => named.once('open', resolve));
    named.send(JSON.stringify(handshakeOf('seed', 'ua', 'named', { [cloud('a')]: '0' })));
    await until(async () => (await target.gw.engine.store.memberCount('ua')) === 1, { what: 'a client that names itself joined' });
    named.close();
  });
});
