/**
 * createRedisEngine: the RoomEngine for a cluster of gateway pods sharing one Redis
 * (standalone, Sentinel or Cluster; see README.md for the URL forms).
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { EngineLimits, JoinRequest, JoinResult, RoomEngine } from '../ports.ts';
import { usernameKey } from '../moderation.ts';
import { createRedisBus } from './bus.ts';
import { createClients } from './connect.ts';
import { CallDeadlines } from './deadline.ts';
import { engineClosed, toError } from '../errors.ts';
import { assertKeyPrefix, counterKey } from './keys.ts';
import { createRedisModeration } from './moderation.ts';
import { createRedisPolicies } from './policies.ts';
import { defineScripts } from './scripts.ts';
import type { EngineRole, EngineStatusEvent, EngineStatusListener } from '../ports.ts';
import { createRedisStore } from './store.ts';
import { clusterTransport, singleTransport } from './transport.ts';
import { parseRedisUrl } from './url.ts';

export interface RedisEngineOptions {
  readonly url: string;
  /** Prepended to every key and channel; lets several deployments (or tests) share a Redis. */
  readonly keyPrefix: string;
  readonly limits: EngineLimits;
  /**
   * A clock for leases and room expiry, in ms, for tests that move time. Absent (production),
   * the scripts read Redis's TIME, so pods whose clocks disagree still agree on leases.
   */
  readonly now?: () => number;
  /** Names this pod's probe channel and connections; random when absent. */
  readonly podId?: string;
  readonly onStatus?: EngineStatusListener;
  /**
   * A command Redis has not answered after this many ms fails with CV_ERR_REDIS_TIMEOUT;
   * a whole store or bus call gets twice this, a join (up to three round trips: the leases
   * and ban check, the join script, then renewing or giving back the room's slot) three
   * times. Default 5000.
   */
  readonly commandTimeoutMs?: number;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/** Consecutive failed probes, with the store connection ready, before the subscriber is reconnected. */
const PROBE_FAILURES_BEFORE_REPAIR = 3;

function watch(client: Redis | Cluster, role: EngineRole, report: (event: EngineStatusEvent) => void): void {
  client.on('error', (error: Error) => report({ type: 'error', role, code: 'CV_ERR_REDIS_CONNECTION', error }));
  client.on('reconnecting', (delayMs: unknown) => {
    report({ type: 'reconnecting', role, delayMs: typeof delayMs === 'number' ? delayMs : 0 });
  });
  client.on('ready', () => report({ type: 'ready', role }));
}

async function quit(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch (error) {
    // QUIT races a dropping connection, or a frozen Redis lets it time out: the socket is
    // closed either way.
    client.disconnect();
    if (!(error instanceof Error) || !/Connection is closed|Command timed out/.test(error.message)) throw error;
  }
}

/** True once `promise` settled within `ms`, false otherwise; leaves no timer behind. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects lazily in the background (ioredis retries); the returned engine queues commands
 * until Redis answers. `bus.subscribe` and `probe` work once the subscriber is up.
 */
export function createRedisEngine(options: RedisEngineOptions): RoomEngine {
  const target = parseRedisUrl(options.url);
  assertKeyPrefix(options.keyPrefix);
  const podId = options.podId ?? randomBytes(6).toString('hex');
  const report = options.onStatus ?? (() => undefined);
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const callDeadlineMs = 2 * commandTimeoutMs;
  const joinDeadlineMs = 3 * commandTimeoutMs;
  const clients = createClients(target, podId, commandTimeoutMs);
  const storeClient = clients.kind === 'cluster' ? clients.cluster : clients.store;
  let channels: () => readonly string[] = () => [];
  const transport =
    clients.kind === 'cluster'
      ? clusterTransport(clients.cluster, () => channels())
      : singleTransport(clients.store, clients.subscriber, () => channels());
  watch(storeClient, 'store', report);
  if (clients.kind === 'single') watch(clients.subscriber, 'bus', report);

  const scripts = defineScripts(storeClient);
  const moderation = createRedisModeration({ client: storeClient, scripts, prefix: options.keyPrefix, now: options.now });
  const store = createRedisStore({
    client: storeClient,
    scripts,
    prefix: options.keyPrefix,
    limits: options.limits,
    now: options.now,
    sharded: clients.kind === 'cluster',
    barred: (request) => moderation.barred(request),
  });
  const bus = createRedisBus({ prefix: options.keyPrefix, podId, transport, report });
  const policies = createRedisPolicies({ client: storeClient, transport, prefix: options.keyPrefix, report });
  channels = () => [policies.channel, ...bus.channels()];
  // A failed first SUBSCRIBE (Redis not up yet) is retried by the transport on `ready`.
  const started = Promise.all([bus.start(), policies.start()]).then(
    () => true,
    (error: unknown) => {
      report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_START', error: toError(error) });
      return false;
    },
  );
  let closed = false;
  let failedProbes = 0;

  async function probeWithin(left: number): Promise<boolean> {
    return closed || left <= 0 ? false : bus.probe(left);
  }

  /**
   * A probe that fails while the store connection is ready points at the subscriber: a
   * connection can look open yet deliver nothing (half-open, or dropped by Redis without a
   * close reaching us). After a few in a row, reconnect it; the reconnect resubscribes and
   * resyncs the listener.
   */
  function afterProbe(arrived: boolean): void {
    if (arrived || closed || storeClient.status !== 'ready') {
      failedProbes = 0;
      return;
    }
    failedProbes += 1;
    if (failedProbes < PROBE_FAILURES_BEFORE_REPAIR) return;
    failedProbes = 0;
    const repaired = transport.repair();
    const what = repaired ? 'reconnecting the subscriber' : "left to ioredis, which replaces a Cluster's shard subscribers itself";
    const error = new Error(`${PROBE_FAILURES_BEFORE_REPAIR} probes in a row failed while the store connection was ready: ${what}`);
    report({ type: 'error', role: 'bus', code: repaired ? 'CV_ERR_BUS_REPAIR' : 'CV_ERR_BUS_PROBES_FAILING', error });
  }

  function open(): void {
    if (closed) throw engineClosed();
  }

  const deadlines = new CallDeadlines(callDeadlineMs);
  const joinDeadlines = new CallDeadlines(joinDeadlineMs);

  /** The call, failing once the engine is closed and bounded by its deadline. */
  function guarded<A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>, limit = deadlines): (...args: A) => Promise<R> {
    // Not async: a set is the hot path, and an async wrapper is one more promise per call.
    return (...args) => {
      try {
        open();
        return limit.bound(call(...args), name);
      } catch (error) {
        return Promise.reject(toError(error));
      }
    };
  }

  /**
   * A join its caller gave up on (the deadline) may still be carried out: a Cluster's
   * offline queue holds its scripts with no command timeout, and the caller's leave may be
   * sent before them. A join that lands after all is left here, or its lease would hold a
   * place, and a claimed username (4002 to the client's reconnect), until it lapsed.
   */
  function joinLeavingLate(request: JoinRequest): Promise<JoinResult> {
    let attempt: Promise<JoinResult> | null = null;
    const bounded = guarded('join', (r: JoinRequest) => (attempt = store.join(r)), joinDeadlines)(request);
    bounded.catch(() => {
      attempt
        ?.then(async (result) => {
          if (!result.ok) return;
          const usernameKeyOf = request.claimUsername ? usernameKey(request.username) : null;
          await store.leave({ room: request.room, connectionId: request.connectionId, address: request.address, usernameKey: usernameKeyOf });
        })
        .catch(() => undefined); // a failed attempt or leave: the lease, if any, lapses
    });
    return bounded;
  }

  return {
    kind: 'redis',
    store: {
      join: joinLeavingLate,
      set: guarded('set', store.set),
      rename: guarded('rename', store.rename),
      delete: guarded('delete', store.delete),
      leave: guarded('leave', store.leave),
      renew: guarded('renew', store.renew),
      snapshot: guarded('snapshot', store.snapshot),
      catchUp: guarded('catchUp', store.catchUp),
      memberCount: guarded('memberCount', store.memberCount),
      log: guarded('log', store.log),
      deleteRoom: guarded('deleteRoom', store.deleteRoom),
      kick: guarded('kick', store.kick),
    },
    moderation: {
      ban: guarded('ban', moderation.ban),
      unban: guarded('unban', moderation.unban),
      bans: guarded('bans', moderation.bans),
      blockedWords: guarded('blockedWords', moderation.blockedWords),
      blockWord: guarded('blockWord', moderation.blockWord),
      unblockWord: guarded('unblockWord', moderation.unblockWord),
    },
    policies: {
      get: guarded('policy', policies.get),
      put: guarded('putPolicy', policies.put),
      delete: guarded('deletePolicy', policies.delete),
      all: guarded('policies', policies.all),
      version: guarded('policyVersion', policies.version),
      watch: (listener) => policies.watch(listener),
    },
    bus: {
      listen: (listener) => bus.listen(listener),
      subscribe: async (rooms) => {
        open();
        // `started` waits for the first SUBSCRIBE, which may sit in an offline queue. A call
        // its caller gave up on subscribes nothing afterwards: the caller counts the rooms
        // as not subscribed (and unsubscribes them, for a SUBSCRIBE already sent).
        let abandoned = false;
        const subscribing = started.then(async () => {
          if (!abandoned) await bus.subscribe(rooms);
        });
        try {
          await deadlines.bound(subscribing, 'subscribe');
        } catch (error) {
          abandoned = true;
          throw error;
        }
      },
      unsubscribe: async (rooms) => {
        open();
        await deadlines.bound(bus.unsubscribe(rooms), 'unsubscribe');
      },
      probe: async (timeoutMs) => {
        if (closed) return false;
        // The first SUBSCRIBE may still be queued (Cluster waits for its topology): it counts
        // against the same budget, so a probe never outlives its timeout.
        const begin = performance.now();
        const arrived = (await within(started, timeoutMs)) && (await probeWithin(timeoutMs - (performance.now() - begin)));
        afterProbe(arrived);
        return arrived;
      },
    },
    counters: {
      hit: guarded('hit', async (key: string, windowMs: number, max: number) => {
        const at = options.now ? options.now() : -1;
        const { count, resetInMs } = await scripts.hit(counterKey(options.keyPrefix, key), at, windowMs);
        return { allowed: count <= max, count, resetInMs };
      }),
      refund: guarded('refund', (key: string) => scripts.refund(counterKey(options.keyPrefix, key), options.now ? options.now() : -1)),
    },
    isConnected: () => !closed && transport.isReady(),
    async close() {
      if (closed) return;
      closed = true;
      bus.abandonProbes();
      deadlines.close();
      joinDeadlines.close();
      if (clients.kind === 'cluster') {
        await quit(clients.cluster);
      } else {
        await Promise.all([quit(clients.store), quit(clients.subscriber)]);
      }
    },
  };
}
