/**
 * The WebSocket endpoint, on `/` and on any other path (the reference server accepted
 * every path). GET on `/` without an upgrade serves the home page.
 */
import { readFileSync } from 'node:fs';
import websocket from '@fastify/websocket';
import type { ProtocolLimits } from '@cloudvars/protocol';
import type { RoomEngine } from '@cloudvars/rooms';
import type { FastifyInstance } from 'fastify';
import { addressForLogs } from '../address.ts';
import type { Config } from '../config.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { Connections } from '../ws/connections.ts';
import { FlushScheduler } from '../ws/outbox.ts';
import { RoomHub } from '../ws/room-hub.ts';

const HOME_PAGE = readFileSync(new URL('../../public/index.html', import.meta.url), 'utf8');

/** An emptied room stays subscribed this long, so a page reload costs no resubscribe. */
const ROOM_LINGER_MS = 5_000;

export interface CloudSocketOptions {
  readonly config: Config;
  readonly engine: RoomEngine;
  readonly metrics: GatewayMetrics;
  readonly instanceId: string;
  readonly protocolLimits: ProtocolLimits;
}

export async function cloudSocket(app: FastifyInstance, options: CloudSocketOptions) {
  const { config, engine, metrics } = options;
  await app.register(websocket, {
    options: {
      maxPayload: config.maxPayloadBytes,
      // PROTOCOL.md: compression costs memory per connection; off.
      perMessageDeflate: false,
    },
    errorHandler: (error, socket) => {
      app.log.error({ err: error }, 'websocket handler failed');
      socket.terminate();
    },
  });
  const log = app.log;
  const hub = new RoomHub({ engine, metrics, log, lingerMs: ROOM_LINGER_MS });
  const scheduler = new FlushScheduler(config.sendBufferLimitBytes, config.slowConsumerTimeoutMs, config.flushIntervalMs);
  const connections = new Connections(
    { config, protocolLimits: options.protocolLimits, engine, hub, scheduler, metrics, log },
    options.instanceId,
  );

  // While draining, refuse upgrades before they happen: a proxy (nginx proxy_next_upstream
  // http_503) retries another pod at once, instead of the client reconnecting after a 1012.
  app.addHook('onRequest', async (request, reply) => {
    if (connections.isRefusing && request.headers.upgrade?.toLowerCase() === 'websocket') {
      return reply.code(503).header('retry-after', '1').send({ error: 'draining' });
    }
  });

  app.route({
    method: 'GET',
    url: '/',
    handler: async (_request, reply) => reply.type('text/html; charset=utf-8').send(HOME_PAGE),
    wsHandler: (socket, request) => connections.open(socket, request.ip, addressForLogs(request.ip, config.anonymizeAddresses)),
  });
  app.route({
    method: 'GET',
    url: '/*',
    handler: async (_request, reply) => reply.code(404).send({ error: 'not found', hint: 'WebSocket clients may connect on any path' }),
    wsHandler: (socket, request) => connections.open(socket, request.ip, addressForLogs(request.ip, config.anonymizeAddresses)),
  });

  return {
    connections,
    hub,
    stop(): void {
      connections.stop();
      scheduler.stop();
      hub.close();
    },
  };
}
