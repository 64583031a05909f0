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
import { REFUSAL_GRACE_MS, closeSocket } from '../sockets/close-socket.ts';
import { clientSocketErrorListener, forgetPeerAddress, releaseUpgrade } from '../sockets/socket-errors.ts';
import type { Connections } from '../ws/connections.ts';
import type { Admission, ClientRefusal } from '../ws/admission.ts';

const HOME_PAGE = readFileSync(new URL('../../public/index.html', import.meta.url), 'utf8');

export interface CloudSocketOptions {
  readonly config: Config;
  readonly connections: Connections;
  readonly admission: Admission;
  readonly metrics: GatewayMetrics;
}

/** Closes with the refusal's code and, as the close frame's reason, what to do: see ws/admission.ts. */
function refuseAfterUpgrade(socket: WebSocket, refusal: ClientRefusal): void {
  closeSocket(socket, refusal.code, refusal.closeReason, REFUSAL_GRACE_MS);
}

const socketPlugin: FastifyPluginAsync<CloudSocketOptions> = async (app, { config, connections, admission, metrics }) => {
  const terminateOnError = (error: Error, socket: WebSocket): void => {
    app.log.error({ err: error }, 'websocket handler failed');
    socket.terminate();
  };
  // One function for every socket, standing in for the plugin's per-socket closure.
  const onSocketError = clientSocketErrorListener(metrics.clientErrors, app.log);
  await app.register(websocket, {
    options: {
      maxPayload: config.maxPayloadBytes,
      // PROTOCOL.md: compression costs memory per connection; off.
      perMessageDeflate: false,
    },
    errorHandler: terminateOnError,
  });

  // Refuse upgrades before they happen when the pod drains or is full, or the address is at
  // its limit: no socket is held, a proxy (nginx proxy_next_upstream http_503)
  // retries another pod at once, and clients back off longer on each refused attempt.
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.upgrade?.toLowerCase() !== 'websocket') return;
    const address = addressForLimits(request.ip, config.ipv6PrefixLength);
    const refusal = await admission.refuseUpgrade({ address, origin: request.headers.origin, host: request.headers.host });
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
    const refusal = admission.refuseClient(request.headers);
    if (refusal !== null) {
      refuseAfterUpgrade(socket, refusal);
      metrics.protocolErrors.inc({ reason: refusal.reason });
      metrics.closes.inc({ code: String(refusal.code) });
      app.log.info({ address: logAddress, code: refusal.code, reason: refusal.reason }, 'refused a connection after its upgrade');
      return;
    }
    connections.open(socket, addressForLimits(ip, config.ipv6PrefixLength), logAddress, {
      userAgent: request.headers['user-agent'] ?? '',
      origin: request.headers.origin ?? '',
    });
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
