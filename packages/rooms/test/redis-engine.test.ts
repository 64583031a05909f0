import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { activeRoomsKey, addressKey, roomKeys } from '../src/redis/keys.ts';
import { defineScripts } from '../src/redis/scripts.ts';
import { Recorder, freshRoom, joinRequest, leaseOf, roomyLimits } from './contract/harness.ts';
import { redisPods, type RedisPods } from '@cloudvars/test-support/redis-engines';
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { until } from '@cloudvars/test-support/until';

/** Redis-specific behaviour the contract suite cannot see: wire format, keys, TTLs, scripts. */
describe('redis engine', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const item of open.splice(0)) await item.close();
  });

  async function pods(limits = roomyLimits): Promise<RedisPods> {
    const made = await redisPods(redisUrl(), { limits });
    open.push({ close: () => made.cleanup() });
    return made;
  }

  function raw(): Redis {
    const client = new Redis(redisUrl());
    open.push({ close: async () => void (await client.quit()) });
    return client;
  }

  it('publishes each set on the {room} channel as the JSON array [epoch, seq, origin, variable, value]', async () => {
    const { engines, prefix } = await pods();
    const room = freshRoom();
    const joined = await engines[0].store.join(joinRequest(room, 'c1', 'alice', [['☁ x', '0']]));
    const listener = raw();
    const messages: Array<[string, string]> = [];
    listener.on('message', (channel: string, message: string) => messages.push([channel, message]));
    await listener.subscribe(`${prefix}{${room}}`);
    await engines[1].store.set(room, 'c1', '☁ x', '-1.5e+3');
    await until(() => messages.length === 1, { what: 'the raw event' });
    const epoch = joined.ok ? joined.snapshot.epoch : 'unreachable';
    expect(messages[0]?.[0]).toBe(`${prefix}{${room}}`);
    expect(JSON.parse(messages[0]?.[1] ?? 'null')).toEqual([epoch, 1, 'c1', '☁ x', '-1.5e+3']);
  });

  it("keeps a room's keys under one hash tag and gives an empty room a Redis TTL", async () => {
    const { engines, prefix } = await pods({ ...roomyLimits, roomTtlMs: 3_600_000 });
    const client = raw();
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice');
    await engines[0].store.join(alice);
    const keys = roomKeys(prefix, room);
    expect(await client.keys(`${prefix}{${room}}*`)).toEqual(expect.arrayContaining([keys.vars, keys.meta, keys.members, keys.names]));
    await engines[0].store.leave(leaseOf(alice));
    for (const key of [keys.vars, keys.meta]) {
      expect(await client.pttl(key)).toBeGreaterThan(3_600_000);
    }
  });

  it("gives a room's first variable and first log entry the room's TTL, even when a set creates them after the room emptied", async () => {
    const { engines, prefix } = await pods({ ...roomyLimits, roomTtlMs: 3_600_000, logLength: 10 });
    const client = raw();
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice', null);
    await engines[0].store.join(alice);
    await engines[0].store.leave(leaseOf(alice));
    const keys = roomKeys(prefix, room);
    expect(await client.exists(keys.vars, keys.log)).toBe(0);
    // An operator's set (the API's) into the empty room creates both keys.
    expect(await engines[1].store.set(room, 'api', 'x', '1', { create: true })).toEqual({ ok: true, seq: 1 });
    const roomTtl = await client.pttl(keys.meta);
    expect(roomTtl).toBeGreaterThan(3_600_000);
    for (const key of [keys.vars, keys.log]) {
      const ttl = await client.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(Math.abs(ttl - roomTtl), key).toBeLessThan(60_000);
    }
    // Renaming the only variable deletes the hash and writes it anew: it keeps the TTL.
    await engines[1].store.rename(room, 'api', 'x', 'y');
    expect(await client.pttl(keys.vars)).toBeGreaterThan(0);
  });

  it('persists room keys when roomTtlMs is 0', async () => {
    const { engines, prefix } = await pods({ ...roomyLimits, roomTtlMs: 0 });
    const client = raw();
    const room = freshRoom();
    const alice = joinRequest(room, 'c1', 'alice');
    await engines[0].store.join(alice);
    await engines[0].store.leave(leaseOf(alice));
    const keys = roomKeys(prefix, room);
    expect(await client.pttl(keys.vars)).toBe(-1);
    expect(await client.pttl(keys.meta)).toBe(-1);
  });

  it('gives back the address lease a refused join took', async () => {
    const { engines, prefix } = await pods();
    const client = raw();
    const room = freshRoom();
    await engines[0].store.join(joinRequest(room, 'c1', 'alice', [['x', '0']], '10.9.9.9'));
    const refused = await engines[1].store.join(joinRequest(room, 'c2', 'ALICE', [['x', '0']], '10.8.8.8'));
    expect(refused).toEqual({ ok: false, reason: 'username-taken' });
    expect(await client.zcard(addressKey(prefix, '10.8.8.8'))).toBe(0);
    expect(await client.zcard(addressKey(prefix, '10.9.9.9'))).toBe(1);
  });

  it("gives a room's slot back only if nobody took it since: a join on another pod in between keeps it (the give-back race of issue 3)", async () => {
    const { prefix } = await pods();
    const client = raw();
    const scripts = defineScripts(client);
    const key = activeRoomsKey(prefix);
    const ttl = 15_000;
    // A join takes the room's slot; a join on another pod takes it too, a little later.
    expect(await scripts['lease-acquire'](key, 1_000, 'r', ttl, 10, 60_000)).toEqual({ status: 1, expiry: 1_000 + ttl });
    expect(await scripts['lease-acquire'](key, 1_010, 'r', ttl, 10, 60_000)).toEqual({ status: 2, expiry: 1_010 + ttl });
    // The first is refused and gives back what it took: the second's slot stays.
    expect(await scripts['lease-release'](key, 'r', 1_000 + ttl)).toBe(false);
    expect(await client.zscore(key, 'r')).toBe(String(1_010 + ttl));
    // A give-back that knows the latest expiry (a last leave after the second join) frees it.
    expect(await scripts['lease-release'](key, 'r', 1_010 + ttl)).toBe(true);
    expect(await client.zscore(key, 'r')).toBeNull();
  });

  it('reports a malformed message on a room channel and delivers only real events', async () => {
    const made = await pods();
    const [a, b] = made.engines;
    const recorder = new Recorder();
    b.bus.listen(recorder);
    const room = freshRoom();
    await a.store.join(joinRequest(room, 'c1', 'alice'));
    await b.bus.subscribe([room]);
    await raw().publish(`${made.prefix}{${room}}`, '{"not":"an event"}');
    await a.store.set(room, 'c1', 'x', '1');
    await until(() => recorder.of(room).length === 1, { what: 'the real event' });
    await until(() => made.statuses.some((s) => s.type === 'malformed-event'), { what: 'the malformed-event status' });
    expect(recorder.of(room).map((event) => event.value)).toEqual(['1']);
    expect(recorder.resyncs).toBe(0); // nothing was lost, so no resync
  });
});
