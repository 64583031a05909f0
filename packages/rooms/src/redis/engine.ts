/**
 * createRedisEngine: the RoomEngine for a cluster of gateway pods sharing one Redis
 * (standalone, Sentinel or Cluster; see README.md for the URL forms). Its parts are built in
 * order, each given what it needs at construction: the clients, the receivers (the policy
 * notices and the bus's inbox), the transport that feeds them, the scripts, moderation,
 * store and policies, the bus, then the guard that bounds every call. Nothing is patched in
 * afterwards. The store's sets of one origin in one turn go to Redis as one setMany (one
 * script call and one publish: set-batcher.ts), above the guard, so its callers never see it.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type {
  BusListener,
  EngineLimits,
  EngineRole,
  EngineStatusEvent,
  EngineStatusListener,
  Moderation,
  ProjectPolicies,
  RoomBus,
  RoomEngine,
  RoomStore,
  WindowCounters,
} from '../ports.ts';
import { toError } from '../errors.ts';
import { batchSetsPerTurn } from '../set-batcher.ts';
import { BusInbox, RedisBus } from './bus.ts';
import { createClients } from './connect.ts';
import type { RedisClients } from './connect.ts';
import { EngineGuard } from './guard.ts';
import { assertKeyPrefix, counterKey } from './keys.ts';
import { joinLeavingLate } from './late-join.ts';
import { RedisModeration } from './moderation.ts';
import { PolicyNotices, RedisPolicies } from './policies.ts';
import { defineScripts } from './scripts.ts';
import type { Scripts } from './scripts.ts';
import { createRedisStore } from './store.ts';
import { ClusterTransport, SingleTransport } from './transport.ts';
import type { PubSubTransport } from './transport.ts';
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
  const prefix = options.keyPrefix;
  const podId = options.podId ?? randomBytes(6).toString('hex');
  const report = options.onStatus ?? (() => undefined);
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;

  const clients = createClients(target, podId, commandTimeoutMs);
  const storeClient = clients.kind === 'cluster' ? clients.cluster : clients.store;
  const notices = new PolicyNotices(prefix, report);
  const inbox = new BusInbox({ prefix, podId, report, podChannels: [notices] });
  const transport = clients.kind === 'cluster' ? new ClusterTransport(clients.cluster, inbox) : new SingleTransport(clients.store, clients.subscriber, inbox);
  watch(storeClient, 'store', report);
  if (clients.kind === 'single') watch(clients.subscriber, 'bus', report);

  const scripts = defineScripts(storeClient);
  const moderation = new RedisModeration({ client: storeClient, scripts, prefix, now: options.now });
  const store = createRedisStore({
    client: storeClient,
    scripts,
    prefix,
    limits: options.limits,
    now: options.now,
    sharded: clients.kind === 'cluster',
    banCheck: moderation,
    report,
  });
  const policies = new RedisPolicies({ client: storeClient, transport, notices, prefix, report });
  const bus = new RedisBus(inbox, transport, report);
  const guard = new EngineGuard(commandTimeoutMs);
  return new RedisEngine({
    clients,
    transport,
    guard,
    store: batchSetsPerTurn(guardedStore(store, guard, report)),
    moderation: guardedModeration(moderation, guard),
    policies: guardedPolicies(policies, guard),
    bus: new GuardedBus({ bus, inbox, transport, storeClient, guard, report }),
    counters: redisCounters(scripts, prefix, options.now, guard),
  });
}

function guardedStore(store: RoomStore, guard: EngineGuard, report: EngineStatusListener): RoomStore {
  return {
    join: joinLeavingLate(store, guard, report),
    set: guard.guarded('set', store.set),
    setMany: guard.guarded('setMany', store.setMany),
    rename: guard.guarded('rename', store.rename),
    delete: guard.guarded('delete', store.delete),
    leave: guard.guarded('leave', store.leave),
    renew: guard.guarded('renew', store.renew),
    snapshot: guard.guarded('snapshot', store.snapshot),
    catchUp: guard.guarded('catchUp', store.catchUp),
    memberCount: guard.guarded('memberCount', store.memberCount),
    log: guard.guarded('log', store.log),
    deleteRoom: guard.guarded('deleteRoom', store.deleteRoom),
    kick: guard.guarded('kick', store.kick),
  };
}

function guardedModeration(moderation: Moderation, guard: EngineGuard): Moderation {
  return {
    ban: guard.guarded('ban', moderation.ban.bind(moderation)),
    unban: guard.guarded('unban', moderation.unban.bind(moderation)),
    bans: guard.guarded('bans', moderation.bans.bind(moderation)),
    blockedWords: guard.guarded('blockedWords', moderation.blockedWords.bind(moderation)),
    blockWord: guard.guarded('blockWord', moderation.blockWord.bind(moderation)),
    unblockWord: guard.guarded('unblockWord', moderation.unblockWord.bind(moderation)),
  };
}

function guardedPolicies(policies: ProjectPolicies, guard: EngineGuard): ProjectPolicies {
  return {
    get: guard.guarded('policy', policies.get.bind(policies)),
    put: guard.guarded('putPolicy', policies.put.bind(policies)),
    delete: guard.guarded('deletePolicy', policies.delete.bind(policies)),
    all: guard.guarded('policies', policies.all.bind(policies)),
    version: guard.guarded('policyVersion', policies.version.bind(policies)),
    watch: (listener) => policies.watch(listener),
  };
}

/** `now` is the test clock; -1 tells the scripts to read Redis's TIME. */
function redisCounters(scripts: Scripts, prefix: string, now: (() => number) | undefined, guard: EngineGuard): WindowCounters {
  const at = (): number => (now ? now() : -1);
  return {
    hit: guard.guarded('hit', async (key: string, windowMs: number, max: number) => {
      const { count, resetInMs } = await scripts.hit(counterKey(prefix, key), at(), windowMs);
      return { allowed: count <= max, count, resetInMs };
    }),
    refund: guard.guarded('refund', (key: string) => scripts.refund(counterKey(prefix, key), at())),
  };
}

interface GuardedBusParts {
  readonly bus: RedisBus;
  readonly inbox: BusInbox;
  readonly transport: PubSubTransport;
  readonly storeClient: Redis | Cluster;
  readonly guard: EngineGuard;
  readonly report: EngineStatusListener;
}

/** The bus as the engine offers it: refused once closed, bounded, and repaired when probes fail. */
class GuardedBus implements RoomBus {
  /** Resolves true once the probe and pod channels are subscribed, false if that first SUBSCRIBE failed. */
  private readonly started: Promise<boolean>;
  private failedProbes = 0;

  constructor(private readonly parts: GuardedBusParts) {
    // A failed first SUBSCRIBE (Redis not up yet) is retried by the transport on `ready`.
    this.started = parts.bus.start().then(
      () => true,
      (error: unknown) => {
        parts.report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_START', error: toError(error) });
        return false;
      },
    );
  }

  listen(listener: BusListener): void {
    this.parts.bus.listen(listener);
  }

  async subscribe(rooms: readonly string[]): Promise<void> {
    const { bus, guard } = this.parts;
    guard.open();
    // `started` waits for the first SUBSCRIBE, which may sit in an offline queue. A call its
    // caller gave up on subscribes nothing afterwards: the caller counts the rooms as not
    // subscribed (and unsubscribes them, for a SUBSCRIBE already sent).
    let abandoned = false;
    const subscribing = this.started.then(async () => {
      if (!abandoned) await bus.subscribe(rooms);
    });
    try {
      await guard.calls.bound(subscribing, 'subscribe');
    } catch (error) {
      abandoned = true;
      throw error;
    }
  }

  async unsubscribe(rooms: readonly string[]): Promise<void> {
    const { bus, guard } = this.parts;
    guard.open();
    await guard.calls.bound(bus.unsubscribe(rooms), 'unsubscribe');
  }

  async probe(timeoutMs: number): Promise<boolean> {
    if (this.parts.guard.closed) return false;
    // The first SUBSCRIBE may still be queued (Cluster waits for its topology): it counts
    // against the same budget, so a probe never outlives its timeout.
    const begin = performance.now();
    const arrived = (await within(this.started, timeoutMs)) && (await this.probeWithin(timeoutMs - (performance.now() - begin)));
    this.afterProbe(arrived);
    return arrived;
  }

  private async probeWithin(left: number): Promise<boolean> {
    return this.parts.guard.closed || left <= 0 ? false : this.parts.bus.probe(left);
  }

  /**
   * A probe that fails while the store connection is ready points at the subscriber: a
   * connection can look open yet deliver nothing (half-open, or dropped by Redis without a
   * close reaching us). After a few in a row, reconnect it; the reconnect resubscribes and
   * resyncs the listener.
   */
  private afterProbe(arrived: boolean): void {
    const { guard, storeClient, transport, report } = this.parts;
    if (arrived || guard.closed || storeClient.status !== 'ready') {
      this.failedProbes = 0;
      return;
    }
    this.failedProbes += 1;
    if (this.failedProbes < PROBE_FAILURES_BEFORE_REPAIR) return;
    this.failedProbes = 0;
    const repaired = transport.repair();
    const what = repaired ? 'reconnecting the subscriber' : "left to ioredis, which replaces a Cluster's shard subscribers itself";
    const error = new Error(`${PROBE_FAILURES_BEFORE_REPAIR} probes in a row failed while the store connection was ready: ${what}`);
    report({ type: 'error', role: 'bus', code: repaired ? 'CV_ERR_BUS_REPAIR' : 'CV_ERR_BUS_PROBES_FAILING', error });
  }

  /** At close: every pending probe answers false at once instead of at its timeout. */
  abandonProbes(): void {
    this.parts.inbox.abandonProbes();
  }
}

interface RedisEngineParts {
  readonly clients: RedisClients;
  readonly transport: PubSubTransport;
  readonly guard: EngineGuard;
  readonly store: RoomStore;
  readonly moderation: Moderation;
  readonly policies: ProjectPolicies;
  readonly bus: GuardedBus;
  readonly counters: WindowCounters;
}

class RedisEngine implements RoomEngine {
  readonly kind = 'redis';
  readonly store: RoomStore;
  readonly moderation: Moderation;
  readonly policies: ProjectPolicies;
  readonly bus: GuardedBus;
  readonly counters: WindowCounters;

  constructor(private readonly parts: RedisEngineParts) {
    this.store = parts.store;
    this.moderation = parts.moderation;
    this.policies = parts.policies;
    this.bus = parts.bus;
    this.counters = parts.counters;
  }

  isConnected(): boolean {
    return !this.parts.guard.closed && this.parts.transport.isReady();
  }

  async close(): Promise<void> {
    const { guard, clients } = this.parts;
    if (guard.closed) return;
    guard.close();
    this.bus.abandonProbes();
    if (clients.kind === 'cluster') {
      await quit(clients.cluster);
    } else {
      await Promise.all([quit(clients.store), quit(clients.subscriber)]);
    }
  }
}
