/**
 * buildApp: the gateway as a Fastify instance, given its config and a room engine. It
 * chooses no implementation itself (main.ts does), so tests build several gateways on one
 * engine backend in one process. This is where the pod's parts are made and wired, each
 * given what it needs when it is constructed.
 */
import { DEFAULT_LIMITS, type ProtocolLimits } from '@cloudvars/protocol';
import type { RoomEngine } from '@cloudvars/rooms';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { createMetrics, observe, type GatewayMetrics } from './metrics.ts';
import { apiMetrics } from './api/api-metrics.ts';
import { cloudvarsApi } from './api/plugin.ts';
import { LiveViewers } from './live/viewers.ts';
import { PodSendBudget } from './pod-send-budget.ts';
import { cloudSocket } from './plugins/cloud-socket.ts';
import { healthRoutes } from './plugins/health.ts';
import { metricsRoute } from './plugins/metrics-route.ts';
import { enforceOnChange } from './policy/enforce.ts';
import { PolicyBook } from './policy/policy-book.ts';
import { HandshakeHook } from './hook/handshake-hook.ts';
import { RoomHub } from './hub/room-hub.ts';
import { Readiness } from './readiness.ts';
import { SocketRegistry } from './sockets/socket-registry.ts';
import { Admission } from './ws/admission.ts';
import { Connections } from './ws/connections.ts';
import type { Session } from './ws/session.ts';
import { FlushScheduler } from './ws/outbox.ts';
import { StorePressure } from './ws/store-pressure.ts';

export interface AppDeps {
  readonly config: Config;
  readonly engine: RoomEngine;
  /** The engine's status reports count here too (main.ts); tests may leave it to buildApp. */
  readonly metrics?: GatewayMetrics;
  /** Unique per process; prefixes connection ids. */
  readonly instanceId: string;
  /** pino options or false (tests); main.ts passes the configured level. */
  /** Fastify's logger options; `stream` (tests) receives the JSON lines instead of stdout. */
  readonly logger?: boolean | { level: string; stream?: { write(line: string): void } };
}

export interface Gateway {
  readonly app: FastifyInstance;
  /**
   * GET /metrics on a port of its own (METRICS_PORT), which the load balancer never routes:
   * visitors cannot read or disturb what Prometheus scrapes. Closed with `app`.
   */
  readonly metricsApp: FastifyInstance;
  readonly metrics: GatewayMetrics;
  readonly readiness: Readiness;
  /**
   * SIGTERM: fail /readyz, keep serving DRAIN_DELAY_MS (unless `skipDelay`: nobody routes
   * to an interactive Ctrl-C), close clients with 1012, release leases, close.
   */
  drain(options?: { skipDelay?: boolean }): Promise<void>;
}

export function protocolLimitsFrom(config: Config): ProtocolLimits {
  return {
    ...DEFAULT_LIMITS,
    maxVariables: config.maxVariables,
    maxValueLength: config.maxValueLength,
    allowTextValues: config.allowTextValues,
    usernameBlockList: config.usernameBlockList,
  };
}

/** The longest path parameter: a 999-character project id of 3-byte characters, %XX-escaped. */
const API_PARAM_MAX_LENGTH = 9_000;

function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

export async function buildApp(deps: AppDeps): Promise<Gateway> {
  const { config, engine } = deps;
  const app = Fastify({
    logger: deps.logger ?? { level: config.logLevel },
    // A hop count means: trust that many proxies nearest to us.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // Connection logs are ours (open/join/close); Fastify's per-request lines would double them.
    logController: new LogController({ disableRequestLogging: true }),
    // API paths carry project ids of up to 999 characters, URL-encoded (up to 9 bytes each).
    routerOptions: { maxParamLength: API_PARAM_MAX_LENGTH },
    // A value is a string or a number (`type: ['string', 'number']`): Ajv's strict mode
    // warns about union types on every start unless they are allowed.
    ajv: { customOptions: { allowUnionTypes: true } },
  });
  const log = app.log;
  const metrics = deps.metrics ?? createMetrics();
  const hub = new RoomHub({ engine, metrics, log, lingerMs: config.roomLingerMs });
  engine.bus.listen(hub);
  const scheduler = new FlushScheduler(config.sendBufferLimitBytes, config.slowConsumerTimeoutMs, config.flushIntervalMs, metrics.sent);
  const pressure = new StorePressure(config.maxStoreCallsInFlight, () => metrics.readPauses.inc());
  observe(metrics.registry, 'cloudvars_store_calls_in_flight', "Clients' changes waiting for the store's answer.", () => pressure.inFlight);
  const protocolLimits = protocolLimitsFrom(config);
  const policies = new PolicyBook({ policies: engine.policies, log, changed: enforceOnChange(hub, config, protocolLimits) });
  const hook = config.handshakeHook === null ? null : new HandshakeHook({ config: config.handshakeHook, protocolLimits, registry: metrics.registry, log });
  const clientSockets = new SocketRegistry<Session>(config.pingIntervalMs, pressure);
  const admission = new Admission(config, clientSockets, engine.counters, log);
  // A connection's sets of one turn (a frame's, a burst the set rate released) reach Redis as
  // one setMany: the Redis engine's own detail (its store batches them); in memory a batch
  // would cost what its sets do.
  const connections = new Connections(
    { config, protocolLimits, engine, hub, scheduler, pressure, metrics, log, policies, hook },
    clientSockets,
    admission,
    deps.instanceId,
  );
  const readiness = new Readiness(engine, log, (since) => hub.resyncAll(since));

  await app.register(healthRoutes, { readiness });
  const metricsApp = Fastify({ logger: false });
  await metricsApp.register(metricsRoute, { metrics });
  await app.register(cloudSocket, { config, connections, admission, metrics });
  const viewers = new LiveViewers({
    engine,
    hub,
    config,
    log,
    gauge: apiMetrics(metrics.registry).liveViewers,
    clientErrors: metrics.clientErrors,
    instanceId: deps.instanceId,
  });
  const sendBudget = new PodSendBudget(config.sendBufferPodLimitBytes, [clientSockets, viewers], log);
  await app.register(cloudvarsApi, { config, protocolLimits, engine, viewers, metrics, policies });
  app.addHook('onClose', async () => {
    sendBudget.stop();
    viewers.stop();
    policies.stop();
    readiness.stop();
    metrics.stop();
    await metricsApp.close();
  });

  let draining: Promise<void> | null = null;
  const drain = (options: { skipDelay?: boolean } = {}): Promise<void> =>
    (draining ??= (async () => {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      const delayMs = options.skipDelay ? 0 : config.drainDelayMs;
      readiness.startDraining();
      log.info({ delayMs, connections: connections.size }, 'draining: /readyz fails now');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      viewers.closeAll();
      await connections.drain(config.drainBatchSize, deadline);
      log.info('drained; closing');
      // What is left are HTTP connections: idle keep-alives, and sockets a browser opened
      // ahead of a request (Chromium preconnects), which Node's close would wait for until
      // its headers timeout, past SHUTDOWN_TIMEOUT_MS. /readyz has failed for the drain delay.
      app.server.closeAllConnections();
      await app.close();
    })());
  return { app, metricsApp, metrics, readiness, drain };
}
