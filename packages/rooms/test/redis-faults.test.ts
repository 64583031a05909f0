import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder, freshRoom, joinRequest, roomyLimits } from './contract/harness.ts';
import { redisPods } from '@cloudvars/test-support/redis-engines';
import { freePort, hasBinary, startRedisProcess, type RedisProcess } from '@cloudvars/test-support/redis-server';
import { until } from '@cloudvars/test-support/until';

/** Faults on a private Redis: a restart mid-traffic (losing its data), a killed subscriber, a stall. */
// Needs redis-server on PATH (it restarts its own); skipped, visibly, without.
describe.skipIf(!hasBinary('redis-server'))('redis engine faults on a private redis-server', () => {
  let server: RedisProcess;
  beforeAll(async () => {
    server = await startRedisProcess();
  });
  afterAll(async () => {
    await server.destroy();
  });

  it('resyncs the listener once the subscription is back, and works again', async () => {
    const made = await redisPods(server.url, { limits: roomyLimits });
    const [a, b] = made.engines;
    const recorder = new Recorder();
    b.bus.listen(recorder);
    const room = freshRoom();
    try {
      await a.store.join(joinRequest(room, 'c1', 'alice'));
      await b.bus.subscribe([room]);

      // Traffic that runs through the restart; failures while Redis is away are expected.
      let running = true;
      const failures: unknown[] = [];
      let applied = 0;
      const traffic = (async () => {
        for (let i = 0; running; i += 1) {
          try {
            const result = await a.store.set(room, 'c1', 'x', String(i));
            if (result.ok) applied += 1;
          } catch (error) {
            failures.push(error);
          }
          await new Promise((resolve) => setTimeout(resolve, 5)); // pacing, not waiting
        }
      })();
      await until(() => recorder.of(room).length >= 5, { what: 'events before the restart' });

      await server.stop();
      await until(() => !a.isConnected() && !b.isConnected(), { what: 'both pods to notice' });
      expect(await b.bus.probe(300)).toBe(false);
      await server.restart();
      await until(() => recorder.resyncs >= 1, { timeoutMs: 15_000, what: 'onResync after the restart' });
      await until(() => a.isConnected() && b.isConnected(), { what: 'both pods connected again' });
      running = false;
      await traffic;

      expect(made.statuses.some((s) => s.type === 'resync')).toBe(true);
      expect(made.statuses.some((s) => s.type === 'reconnecting' && s.role === 'bus')).toBe(true);
      expect(applied).toBeGreaterThanOrEqual(5);
      expect(await b.bus.probe(2_000)).toBe(true);
      // Without persistence the room is gone: a join recreates it and events flow again.
      const again = await a.store.join(joinRequest(room, 'c9', 'bob'));
      expect(again.ok && again.outcome).toBe('created');
      const before = recorder.of(room).length;
      await a.store.set(room, 'c9', 'x', 'after');
      await until(() => recorder.of(room).length > before, { what: 'an event after the restart' });
      expect(recorder.of(room).at(-1)).toMatchObject({ seq: 1, value: 'after', origin: 'c9' });
    } finally {
      await made.cleanup();
    }
  });

  it('resyncs after the subscriber connection is killed while Redis stays up', async () => {
    const made = await redisPods(server.url, { limits: roomyLimits });
    const [a, b] = made.engines;
    const recorder = new Recorder();
    b.bus.listen(recorder);
    const admin = new Redis(server.url);
    const room = freshRoom();
    try {
      await a.store.join(joinRequest(room, 'c1', 'alice'));
      await b.bus.subscribe([room]);
      expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThanOrEqual(1);
      await until(() => recorder.resyncs >= 1, { timeoutMs: 10_000, what: 'onResync after CLIENT KILL' });
      await a.store.set(room, 'c1', 'x', 'after');
      await until(() => recorder.of(room).some((event) => event.value === 'after'), { what: 'the event after the kill' });
    } finally {
      await admin.quit();
      await made.cleanup();
    }
  });

  it('probe answers false while Redis stalls delivery, and true once it flows again', async () => {
    const made = await redisPods(server.url, { limits: roomyLimits });
    const admin = new Redis(server.url);
    try {
      expect(await made.engines[0].bus.probe(2_000)).toBe(true);
      await admin.client('PAUSE', 1_500, 'ALL');
      expect(await made.engines[0].bus.probe(200)).toBe(false);
      await until(() => made.engines[0].bus.probe(1_000), { timeoutMs: 10_000, what: 'a probe after the pause' });
    } finally {
      await admin.quit();
      await made.cleanup();
    }
  });

  it('starts before Redis does and works once Redis is up (compose starts pods and Redis together)', async () => {
    const port = await freePort();
    const made = await redisPods(`redis://127.0.0.1:${port}`, { limits: roomyLimits });
    const [a, b] = made.engines;
    const recorder = new Recorder();
    b.bus.listen(recorder);
    let late: RedisProcess | undefined;
    try {
      await until(() => made.statuses.some((s) => s.type === 'reconnecting'), { what: 'a failed first connect' });
      expect(a.isConnected()).toBe(false);
      late = await startRedisProcess({ port });
      await until(() => a.isConnected() && b.isConnected(), { timeoutMs: 10_000, what: 'both pods to connect' });
      await until(() => b.bus.probe(1_000), { timeoutMs: 10_000, what: 'a probe once Redis is up' });
      const room = freshRoom();
      await a.store.join(joinRequest(room, 'c1', 'alice'));
      await b.bus.subscribe([room]);
      await a.store.set(room, 'c1', 'x', '1');
      await until(() => recorder.of(room).length === 1, { what: 'the first event' });
    } finally {
      await made.cleanup();
      await late?.destroy();
    }
  });

  it('probe answers false within its timeout when no Redis answers at all', async () => {
    const port = await freePort();
    for (const url of [`redis://127.0.0.1:${port}`, `redis-cluster://127.0.0.1:${port}`]) {
      const made = await redisPods(url, { limits: roomyLimits });
      try {
        expect(await made.engines[0].bus.probe(300)).toBe(false);
        expect(made.engines[0].isConnected()).toBe(false);
      } finally {
        // Nothing listens, so there are no keys to delete: close the engines only.
        await Promise.all(made.engines.map((engine) => engine.close()));
      }
    }
  });

  // On the private server: flushing scripts on the shared test Redis would disturb other files.
  it('runs its scripts again after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const made = await redisPods(server.url, { limits: roomyLimits });
    const admin = new Redis(server.url);
    try {
      const room = freshRoom();
      await made.engines[0].store.join(joinRequest(room, 'c1', 'alice'));
      await admin.script('FLUSH');
      expect(await made.engines[0].store.set(room, 'c1', 'x', '7')).toEqual({ ok: true, seq: 1 });
      expect(await made.engines[1].store.snapshot(room)).toMatchObject({ seq: 1, variables: [['x', '7']] });
    } finally {
      await admin.quit();
      await made.cleanup();
    }
  });
});
