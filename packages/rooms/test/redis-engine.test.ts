import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_NAME_BYTES, LOG_VALUE_BYTES } from '../src/log.ts';
import type { EngineLimits } from '../src/ports.ts';
import { activeRoomsKey, addressKey, roomKeys, roomScriptKeys } from '../src/redis/keys.ts';
import { LOG_ENTRY_BASE_BYTES, ROOM_BASE_BYTES } from '../src/stored-bytes.ts';
import { defineScripts } from '../src/redis/scripts.ts';
import { Recorder, freshRoom, joinRequest, leaseOf, roomyLimits, sorted } from './contract/harness.ts';
import { redisPods, type RedisPods } from '@cloudvars/test-support/redis-engines';
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { until } from '@cloudvars/test-support/until';

/** Redis-specific behaviour the contract suite cannot see: wire format, keys, TTLs, scripts, rooms of earlier versions, the log's memory. */
describe('redis engine', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const item of open.splice(0)) await item.close();
  });

  async function pods(limits: EngineLimits = roomyLimits): Promise<RedisPods> {
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

  it("publishes a setMany batch as one message, the list of its applied sets' payloads, and the bus hands on each as its event", async () => {
    const { engines, prefix } = await pods();
    const room = freshRoom();
    const joined = await engines[0].store.join(
      joinRequest(room, 'c1', 'alice', [
        ['x', '0'],
        ['y', '0'],
      ]),
    );
    const listener = raw();
    const messages: string[] = [];
    listener.on('message', (_channel: string, message: string) => messages.push(message));
    await listener.subscribe(`${prefix}{${room}}`);
    const recorder = new Recorder();
    engines[1].bus.listen(recorder);
    await engines[1].bus.subscribe([room]);
    const changes = [
      { variable: 'x', value: '1' },
      { variable: 'unknown', value: '2' },
      { variable: 'y', value: '3' },
    ];
    expect((await engines[0].store.setMany(room, 'c1', changes)).map((result) => result.ok)).toEqual([true, false, true]);
    await until(() => messages.length === 1 && recorder.of(room).length === 2, { what: 'the batch' });
    const epoch = joined.ok ? joined.snapshot.epoch : 'unreachable';
    expect(JSON.parse(messages[0] ?? 'null')).toEqual([
      [epoch, 1, 'c1', 'x', '1'],
      [epoch, 2, 'c1', 'y', '3'],
    ]);
    expect(recorder.of(room).map(({ seq, variable, value }) => [seq, variable, value])).toEqual([
      [1, 'x', '1'],
      [2, 'y', '3'],
    ]);
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

  it('checks a join against the bans before its leases on one server: a join barred on one pod by a ban made on another takes no slot', async () => {
    const { engines, prefix } = await pods();
    const client = raw();
    const room = freshRoom();
    const ban = { kind: 'address', value: '10.7.7.7', room: null, ttlMs: 60_000, by: 'op', reason: 'test' } as const;
    expect((await engines[0].moderation.ban(ban)).ok).toBe(true);
    expect(await engines[1].store.join(joinRequest(room, 'c1', 'alice', null, '10.7.7.7'))).toEqual({ ok: false, reason: 'banned-address' });
    expect(await client.zcard(addressKey(prefix, '10.7.7.7'))).toBe(0);
    expect(await client.zscore(activeRoomsKey(prefix), room)).toBeNull();
    // Lifted on the other pod, the next join takes both slots at once.
    expect(await engines[0].moderation.unban(ban)).toBe(true);
    expect((await engines[1].store.join(joinRequest(room, 'c2', 'alice', null, '10.7.7.7'))).ok).toBe(true);
    expect(await client.zcard(addressKey(prefix, '10.7.7.7'))).toBe(1);
    expect(await client.zscore(activeRoomsKey(prefix), room)).not.toBeNull();
  });

  it("renews the room's active slot in the join's own script on one server: a slot given back after the leases were taken is held again once the join is admitted", async () => {
    const { prefix } = await pods();
    const client = raw();
    const scripts = defineScripts(client);
    const room = freshRoom();
    const rooms = activeRoomsKey(prefix);
    const ttl = 15_000;
    const now = 5_000;
    // join.lua's ARGV, as store.ts passes them (a Scratch 3 join that may create the room),
    // then the member to renew in the active rooms' set and that set's gc ttl.
    const joinArgs = (id: string, renew: string): (string | number)[] => [
      now,
      id,
      '',
      ttl,
      60_000,
      10,
      1,
      1,
      `e-${id}`,
      0,
      1,
      60_000,
      0,
      128,
      1_000_000,
      id,
      0,
      LOG_NAME_BYTES,
      LOG_VALUE_BYTES,
      '',
      ROOM_BASE_BYTES,
      LOG_ENTRY_BASE_BYTES,
      renew,
      60_000,
    ];
    const keys = roomScriptKeys(roomKeys(prefix, room));
    // A join that did not take the slot anew (it was held) while a last leave gave it back.
    expect((await scripts['join-renewing'](...keys, rooms, ...joinArgs('c1', room))).ok).toBe(true);
    expect(await client.zscore(rooms, room)).toBe(String(now + ttl));
    // One that took it anew has nothing to renew: the set is left as it is.
    await client.zrem(rooms, room);
    expect((await scripts['join-renewing'](...keys, rooms, ...joinArgs('c2', ''))).ok).toBe(true);
    expect(await client.zscore(rooms, room)).toBeNull();
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
    const publisher = raw();
    await publisher.publish(`${made.prefix}{${room}}`, '{"not":"an event"}');
    // A batch holds only sets: one with anything else is malformed as a whole.
    await publisher.publish(
      `${made.prefix}{${room}}`,
      JSON.stringify([
        ['e', 1, 'c1', 'x', '9'],
        ['e', 2, 'c1', 'x', '', 'delete'],
      ]),
    );
    await a.store.set(room, 'c1', 'x', '1');
    await until(() => recorder.of(room).length === 1, { what: 'the real event' });
    await until(() => made.statuses.filter((s) => s.type === 'malformed-event').length === 2, { what: 'two malformed-event statuses' });
    expect(recorder.of(room).map((event) => event.value)).toEqual(['1']);
    expect(recorder.resyncs).toBe(0); // nothing was lost, so no resync
  });

  // What Redis holds for one room stays bounded, for rooms this version makes and for rooms an
  // earlier version left in production Redis (no `only2020`, no `bytes`, over the budget).

  /** A room as an earlier version stored it: variables and a meta hash without `only2020` or `bytes`. */
  async function storedBefore(client: Redis, prefix: string, room: string, variables: Record<string, string>): Promise<void> {
    const keys = roomKeys(prefix, room);
    await client.hset(keys.vars, variables);
    await client.hset(keys.meta, { epoch: 'old-epoch', seq: 7, created: Date.now() });
  }

  it('treats a room stored before rooms were told apart as shared: a 2020 join with other names adds them and deletes nothing', async () => {
    const { engines, prefix } = await pods();
    const room = freshRoom();
    await storedBefore(raw(), prefix, room, { '☁ highscore': '987654', '☁ level': '42' });
    const joined = await engines[0].store.join(joinRequest(room, 'c1', 'visitor', [['☁ x', '0']]));
    expect(joined.ok && joined.outcome).toBe('extended');
    expect(joined.ok && sorted(joined.snapshot.variables)).toEqual([
      ['☁ highscore', '987654'],
      ['☁ level', '42'],
      ['☁ x', '0'],
    ]);
    expect(joined.ok && [joined.snapshot.epoch, joined.snapshot.seq]).toEqual(['old-epoch', 8]);
  });

  it('lets a room stored over its budget shrink: a set that does not grow it applies, growing ones and added names are refused', async () => {
    const { engines, prefix } = await pods({ ...roomyLimits, maxRoomBytes: 1_000_000 });
    const room = freshRoom();
    // 3 MB, as an earlier version let 2020 handshakes leave (issue 18: up to 11.4 MB).
    await storedBefore(raw(), prefix, room, { a: '1'.repeat(1_000_000), b: '2'.repeat(1_000_000), c: '3'.repeat(1_000_000) });
    const { store } = engines[1];
    expect(await store.set(room, 'c1', 'a', '1'.repeat(1_000_001))).toEqual({ ok: false, reason: 'over-budget' });
    expect(await store.set(room, 'c1', 'a', '4'.repeat(1_000_000))).toEqual({ ok: true, seq: 8 });
    expect(await store.set(room, 'c1', 'b', '5')).toEqual({ ok: true, seq: 9 });
    expect(await store.set(room, 'c1', 'new', '1', { create: true })).toEqual({ ok: false, reason: 'over-budget' });
    expect(
      await store.join(
        joinRequest(room, 'c2', 'bob', [
          ['a', '0'],
          ['d', '0'],
        ]),
      ),
    ).toEqual({ ok: false, reason: 'over-budget' });
    expect(await store.set(room, 'c1', 'c', '6')).toEqual({ ok: true, seq: 10 });
    // Under the budget again (1,000,005 bytes: a shrinks next), it takes changes within it.
    expect(await store.set(room, 'c1', 'a', '7')).toEqual({ ok: true, seq: 11 });
    expect(await store.set(room, 'c1', 'new', '1', { create: true })).toEqual({ ok: true, seq: 12 });
  });

  it(`keeps a room's log within about 1.6 KB of Redis memory per entry of the log length, names cut to ${LOG_NAME_BYTES} bytes and values to ${LOG_VALUE_BYTES} (MEMORY USAGE)`, async () => {
    const { engines, prefix } = await pods({ ...roomyLimits, maxRoomBytes: 1_048_576, logLength: 100 });
    const client = raw();
    const room = freshRoom();
    await engines[0].store.join({ ...joinRequest(room, 'c1', 'player1', null), claimUsername: false });
    // The case: a 1,024-character name (3,070 bytes) set 150 times with ~1 KiB values.
    const name = '☁ ' + '☃'.repeat(1_022);
    for (let i = 0; i < 150; i++) {
      const result = await engines[i % 2]!.store.set(room, 'c1', name, String(i).padStart(2_000, '9'), { create: true, user: 'player1234567890abcd' });
      expect(result.ok).toBe(true);
    }
    const log = roomKeys(prefix, room).log;
    const entries = await client.xlen(log);
    const bytes = Number(await client.call('MEMORY', 'USAGE', log, 'SAMPLES', '0'));
    expect(entries).toBeGreaterThanOrEqual(100);
    // What README and log.ts promise: about 1.6 KB an entry of the log length, the stream's
    // overhead and the entries beyond it that MAXLEN ~ keeps included (157,088 bytes for 102
    // entries on Redis 7.0; 563,576 for 100 before names were cut).
    expect(entries).toBeLessThanOrEqual(110);
    expect(bytes).toBeLessThanOrEqual(100 * 1_700);
  });
});
