/**
 * The WebSocket endpoint, on `/` and on any other path (the reference server accepted
 * every path). GET on `/` without an upgrade serves the home page. Closing the app stops
 * the pod's connection registry (its timers, the flush scheduler and the room hub).
 */
import { readFileSync } from 'node:fs';
import websocket from '@fastify/websocket';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { WebSocket } from 'ws';
import { addressForLogs } from '../address.ts';
import type { Config } from '../config.ts';
import type { Connections } from '../ws/connections.ts';

const HOME_PAGE = readFileSync(new URL('../../public/index.html', import.meta.url), 'utf8');

export interface CloudSocketOptions {
  readonly config: Config;
  readonly connections: Connections;
}

const socketPlugin: FastifyPluginAsync<CloudSocketOptions> = async (app, { config, connections }) => {
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

  // While draining, refuse upgrades before they happen: a proxy (nginx proxy_next_upstream
  // http_503) retries another pod at once, instead of the client reconnecting after a 1012.
  app.addHook('onRequest', async (request, reply) => {
    if (connections.isRefusing && request.headers.upgrade?.toLowerCase() === 'websocket') {
      return reply.code(503).header('retry-after', '1').send({ error: 'draining' });
    }
  });
  app.addHook('onClose', async () => {
    connections.stop();
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
};

export const cloudSocket = fp(socketPlugin, { name: 'cloudvars-socket' });

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
