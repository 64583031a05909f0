/**
 * The WebSocket endpoint, on `/` and on any other path (the reference server accepted
 * every path). GET on `/` without an upgrade serves the home page.
 */
import { readFileSync } from 'node:fs';
import websocket from '@fastify/websocket';
import type { ProtocolLimits } from '@cloudvars/protocol';
import type { RoomEngine } from '@cloudvars/rooms';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { addressForLogs } from '../address.ts';
import type { Config } from '../config.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { Connections } from '../ws/connections.ts';
import { FlushScheduler } from '../ws/outbox.ts';
import { RoomHub } from '../ws/room-hub.ts';

const HOME_PAGE = readFileSync(new URL('../../public/index.html', import.meta.url), 'utf8');


export interface CloudSocketOptions {
  readonly config: Config;
  readonly engine: RoomEngine;
  readonly metrics: GatewayMetrics;
  readonly instanceId: string;
  readonly protocolLimits: ProtocolLimits;
}

export async function cloudSocket(app: FastifyInstance, options: CloudSocketOptions) {
  const { config, engine, metrics } = options;
  const terminateOnError = (error: Error, socket: WebSocket): void => {
    app.log.error({ err: error }, 'websocket handler failed');
    socket.terminate();
  };
  /** One function for every socket, standing in for the plugin's per-socket closure. */
  function onSocketError(this: WebSocket, error: Error): void {
    terminateOnError(error, this);
  }
  await app.register(websocket, {
    options: {
      maxPayload: config.maxPayloadBytes,
      // PROTOCOL.md: compression costs memory per connection; off.
      perMessageDeflate: false,
    },
    errorHandler: terminateOnError,
  });
  const log = app.log;
  const hub = new RoomHub({ engine, metrics, log, lingerMs: config.roomLingerMs });
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

  const openConnection = (socket: WebSocket, request: FastifyRequest): void => {
    releaseUpgrade(socket, request.raw.socket, onSocketError);
    connections.open(socket, request.ip, addressForLogs(request.ip, config.anonymizeAddresses));
  };
  app.route({
    method: 'GET',
    url: '/',
    handler: async (_request, reply) => reply.type('text/html; charset=utf-8').send(HOME_PAGE),
    wsHandler: openConnection,
  });
  app.route({
    method: 'GET',
    url: '/*',
    handler: async (_request, reply) => reply.code(404).send({ error: 'not found', hint: 'WebSocket clients may connect on any path' }),
    wsHandler: openConnection,
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

/** The private field of node:http that ties a socket to its ServerResponse. */
interface UpgradedSocket {
  _httpMessage?: { detachSocket(socket: unknown): void } | null;
}

/**
 * Lets the upgrade's HTTP objects be collected once the socket is a WebSocket (about 2 KiB
 * per idle connection otherwise). @fastify/websocket leaves two paths to them for the
 * socket's whole life: its 'error' listener, a closure over the Fastify request and reply,
 * and the ServerResponse it assigned to the TCP socket (`_httpMessage`), which holds the
 * IncomingMessage. The listener is swapped for `onError`, which does what it did.
 */
function releaseUpgrade(socket: WebSocket, tcp: unknown, onError: (this: WebSocket, error: Error) => void): void {
  socket.removeAllListeners('error');
  socket.on('error', onError);
  const upgraded = tcp as UpgradedSocket | null;
  upgraded?._httpMessage?.detachSocket(upgraded);
}
