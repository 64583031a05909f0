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
import { addressForLimits, addressForLogs } from '../address.ts';
import type { Config } from '../config.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { CLOSE_GRACE_MS, REFUSAL_GRACE_MS, closeSocket } from '../ws/close-socket.ts';
import type { Connections } from '../ws/connections.ts';
import { refuseClient, refuseUpgrade, type ClientRefusal } from '../ws/admission.ts';
import type { RoomEngine } from '@cloudvars/rooms';

const HOME_PAGE = readFileSync(new URL('../../public/index.html', import.meta.url), 'utf8');

export interface CloudSocketOptions {
  readonly config: Config;
  readonly connections: Connections;
  readonly metrics: GatewayMetrics;
  readonly engine: RoomEngine;
}

function terminate(socket: WebSocket): void {
  socket.terminate();
}

/** ws's WS_ERR_* code, or the system's (ECONNRESET), for the metric's label. */
function errorCode(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'other';
}

/** Sends the refusal's text, then closes: see ws/admission.ts. */
function refuseAfterUpgrade(socket: WebSocket, refusal: ClientRefusal): void {
  // A text frame first: the library logs what it cannot parse, where its user may see it.
  socket.send(refusal.message);
  closeSocket(socket, refusal.code, refusal.reason, REFUSAL_GRACE_MS);
}

const socketPlugin: FastifyPluginAsync<CloudSocketOptions> = async (app, { config, connections, metrics, engine }) => {
  const terminateOnError = (error: Error, socket: WebSocket): void => {
    app.log.error({ err: error }, 'websocket handler failed');
    socket.terminate();
  };
  /**
   * One function for every socket, standing in for the plugin's per-socket closure. A
   * socket error is the client's or the network's (a frame too big: 1009, invalid UTF-8:
   * 1007, a bad opcode: 1002, a reset): counted, not an alert. ws has already sent its
   * close frame and drains what the client still sends; ending the socket now would drop
   * that unread input with a reset and the client would never see the close frame (1006).
   * It ends after a grace if the client never completes the close.
   */
  function onSocketError(this: WebSocket, error: Error): void {
    metrics.clientErrors.inc({ code: errorCode(error) });
    app.log.debug({ err: error.message, code: errorCode(error) }, 'socket error');
    setTimeout(terminate, CLOSE_GRACE_MS, this).unref();
  }
  await app.register(websocket, {
    options: {
      maxPayload: config.maxPayloadBytes,
      // PROTOCOL.md: compression costs memory per connection; off.
      perMessageDeflate: false,
    },
    errorHandler: terminateOnError,
  });

  // Refuse upgrades before they happen when the pod drains or is full, or the address is at
  // its limit or flooded: no socket is held, a proxy (nginx proxy_next_upstream http_503)
  // retries another pod at once, and clients back off longer on each refused attempt.
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.upgrade?.toLowerCase() !== 'websocket') return;
    const address = addressForLimits(request.ip, config.ipv6PrefixLength);
    const refusal = await refuseUpgrade({ address, origin: request.headers.origin }, config, connections, engine.counters, app.log);
    if (refusal === null) return;
    metrics.upgradesRefused.inc({ reason: refusal.reason });
    app.log.info({ address: addressForLogs(request.ip, config.anonymizeAddresses), reason: refusal.reason, status: refusal.status }, 'upgrade refused');
    if (refusal.retryAfterSeconds !== null) reply.header('retry-after', String(refusal.retryAfterSeconds));
    // Connection: close, or the refused client could keep the socket for the keep-alive timeout.
    return reply.code(refusal.status).header('connection', 'close').send({ error: refusal.reason });
  });
  app.addHook('onClose', async () => {
    connections.stop();
  });

  const openConnection = (socket: WebSocket, request: FastifyRequest): void => {
    releaseUpgrade(socket, request.raw.socket, onSocketError);
    const ip = request.ip;
    forgetPeerAddress(request.raw.socket);
    const logAddress = addressForLogs(ip, config.anonymizeAddresses);
    const refusal = refuseClient(request.headers, config);
    if (refusal !== null) {
      refuseAfterUpgrade(socket, refusal);
      metrics.protocolErrors.inc({ reason: refusal.reason });
      metrics.closes.inc({ code: String(refusal.code) });
      app.log.info({ address: logAddress, code: refusal.code, reason: refusal.reason }, 'refused a connection after its upgrade');
      return;
    }
    connections.open(socket, addressForLimits(ip, config.ipv6PrefixLength), logAddress);
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

/** The private fields of node:net and node:http: the socket's ServerResponse, and its cached peer address. */
interface UpgradedSocket {
  _httpMessage?: { detachSocket(socket: unknown): void } | null;
  _peername?: object;
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

/**
 * Drops the address object node cached on the TCP socket when the request's address was
 * read (about 90 bytes of every idle client); node reads it from the socket again if
 * anything asks later. Called once the address is no longer read.
 */
function forgetPeerAddress(tcp: unknown): void {
  const upgraded = tcp as UpgradedSocket | null;
  if (upgraded !== null && upgraded._peername !== undefined) upgraded._peername = undefined;
}
