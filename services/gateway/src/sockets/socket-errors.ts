/**
 * Errors on an upgraded socket (a client's or a live page's): the client's or the network's
 * (a frame too big: 1009, invalid UTF-8: 1007, a bad opcode: 1002, a reset), so counted in
 * cloudvars_client_errors_total and logged at debug, never an error-level alert any visitor
 * could raise. ws has already sent its close frame and drains what the peer still sends;
 * ending the socket now would drop that unread input with a reset and the peer would never
 * see the close frame (1006). It ends after a grace if the peer never completes the close.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Counter } from 'prom-client';
import type { WebSocket } from 'ws';
import { CLOSE_GRACE_MS } from './close-socket.ts';

/** ws's WS_ERR_* code, or the system's (ECONNRESET), for the metric's label. */
export function socketErrorCode(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'other';
}

function terminate(socket: WebSocket): void {
  socket.terminate();
}

/** One listener for every socket of a pod (a closure per socket would cost memory per connection). */
export function clientSocketErrorListener(clientErrors: Counter<'code'>, log: FastifyBaseLogger): (this: WebSocket, error: Error) => void {
  return function onSocketError(this: WebSocket, error: Error): void {
    const code = socketErrorCode(error);
    clientErrors.inc({ code });
    log.debug({ err: error.message, code }, 'socket error');
    setTimeout(terminate, CLOSE_GRACE_MS, this).unref();
  };
}

/** The private fields of node:net and node:http: the socket's ServerResponse, and its cached peer address. */
interface UpgradedSocket {
  _httpMessage?: { detachSocket(socket: unknown): void } | null;
  _peername?: object;
}

/**
 * Lets the upgrade's HTTP objects be collected once the socket is a WebSocket (about 2 KiB
 * per idle connection otherwise). @fastify/websocket leaves two paths to them for the
 * socket's whole life: its 'error' listener, a closure over the Fastify request and reply
 * that hands every error to its errorHandler (an error-level line), and the ServerResponse
 * it assigned to the TCP socket (`_httpMessage`), which holds the IncomingMessage. The
 * listener is swapped for `onError` (clientSocketErrorListener).
 */
export function releaseUpgrade(socket: WebSocket, tcp: unknown, onError: (this: WebSocket, error: Error) => void): void {
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
export function forgetPeerAddress(tcp: unknown): void {
  const upgraded = tcp as UpgradedSocket | null;
  if (upgraded !== null && upgraded._peername !== undefined) upgraded._peername = undefined;
}
