import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { probeChannel, roomKeys } from '../src/redis/keys.ts';
import { Recorder, freshRoom, joinRequest, roomyLimits } from './contract/harness.ts';
import { redisPods } from '@cloudvars/test-support/redis-engines';
import { freePort, hasBinary, startRedisProcess, type RedisProcess } from '@cloudvars/test-support/redis-server';
import { startTcpProxy } from '@cloudvars/test-support/tcp-proxy';
import { until } from '@cloudvars/test-support/until';

/** Bus and connection faults on private redis-servers (each test owns its server). */
describe.skipIf(!hasBinary('redis-server'))('redis bus faults on a private redis-server', () => {
  it('forgets a room whose subscribe was rejected: it is not resubscribed once Redis is up', async () => {
    const port = await freePort();
    const made = await redisPods(`redis://127.0.0.1:${port}`, { limits: roomyLimits });
    const [a] = made.engines;
    let late: RedisProcess | undefined;
    let admin: Redis | undefined;
    const room = freshRoom();
    try {
      // Nothing listens yet: the SUBSCRIBE fails once ioredis gives up on the request.
      await expect(a.bus.subscribe([room])).rejects.toBeInstanceOf(Error);
      late = await startRedisProcess({ port });
      // The probe channel goes in the same SUBSCRIBE as every remembered room on `ready`.
      await until(() => a.bus.probe(1_000), { timeoutMs: 10_000, what: 'a probe once Redis is up' });
      admin = new Redis(late.url);
      const subscribed = await admin.pubsub('CHANNELS', `${made.prefix}*`);
      expect(subscribed).toContain(probeChannel(made.prefix, 'pod-a'));
      expect(subscribed).not.toContain(roomKeys(made.prefix, room).channel);
    } finally {
      await admin?.quit();
      await made.cleanup();
      await late?.destroy();
    }
  });

  it('rejects store calls with CV_ERR_REDIS_TIMEOUT while Redis is frozen (SIGSTOP), and works once it thaws', async () => {
    const server = await startRedisProcess();
    const made = await redisPods(server.url, { limits: roomyLimits, commandTimeoutMs: 300 });
    const [a] = made.engines;
    const room = freshRoom();
    try {
      await a.store.join(joinRequest(room, 'c1', 'alice'));
      server.signal('SIGSTOP');
      // The socket stays open, so retries never start: only a deadline ends the call.
      await expect(a.store.set(room, 'c1', 'x', 'frozen')).rejects.toMatchObject({ code: 'CV_ERR_REDIS_TIMEOUT' });
      await expect(a.store.snapshot(room)).rejects.toMatchObject({ code: 'CV_ERR_REDIS_TIMEOUT' });
      server.signal('SIGCONT');
      await until(async () => (await a.store.set(room, 'c1', 'x', 'thawed').catch(() => undefined))?.ok === true, {
        what: 'a set accepted after SIGCONT',
      });
    } finally {
      server.signal('SIGCONT');
      await made.cleanup();
      await server.destroy();
    }
  });

  it('rejects Cluster calls with CV_ERR_REDIS_TIMEOUT while no node answers (commands wait in the Cluster offline queue)', async () => {
    const port = await freePort();
    const made = await redisPods(`redis-cluster://127.0.0.1:${port}`, { limits: roomyLimits, commandTimeoutMs: 200 });
    const [a] = made.engines;
    try {
      await expect(a.store.set(freshRoom(), 'c1', 'x', '1')).rejects.toMatchObject({ code: 'CV_ERR_REDIS_TIMEOUT' });
      await expect(a.bus.subscribe([freshRoom()])).rejects.toMatchObject({ code: 'CV_ERR_REDIS_TIMEOUT' });
    } finally {
      // Nothing listens, so there are no keys to delete: close the engines only.
      await Promise.all(made.engines.map((engine) => engine.close()));
    }
  });

  it('reconnects a subscriber that silently stopped delivering after failed probes, and resyncs', async () => {
    const server = await startRedisProcess();
    const proxy = await startTcpProxy(server.port);
    const made = await redisPods(proxy.url, { limits: roomyLimits });
    const [a, b] = made.engines;
    const recorder = new Recorder();
    b.bus.listen(recorder);
    const room = freshRoom();
    try {
      await a.store.join(joinRequest(room, 'c1', 'alice'));
      await b.bus.subscribe([room]);
      expect(await b.bus.probe(2_000)).toBe(true);
      // pod-b's subscriber connection stays open but passes nothing: no close, no error.
      expect(proxy.freeze('cloudvars:pod-b:bus')).toBe(1);
      await a.store.set(room, 'c1', 'x', 'lost');
      for (let i = 0; i < 3; i += 1) expect(await b.bus.probe(150)).toBe(false);
      expect(made.statuses).toContainEqual(expect.objectContaining({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_REPAIR' }));
      await until(() => recorder.resyncs >= 1, { what: 'onResync after the subscriber was reconnected' });
      await until(() => b.bus.probe(1_000), { what: 'a probe through the new subscriber' });
      await a.store.set(room, 'c1', 'x', 'after');
      await until(() => recorder.of(room).some((event) => event.value === 'after'), { what: 'the event after the repair' });
    } finally {
      await made.cleanup();
      await proxy.close();
      await server.destroy();
    }
  });
});
