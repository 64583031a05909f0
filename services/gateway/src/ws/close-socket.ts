import { WebSocket } from 'ws';

/**
 * Starts the close handshake and ends the socket `graceMs` later if the client never
 * answered it: a client that ignores close frames must not keep a socket (and its file
 * descriptor) until ws's own 30 s timeout. A socket already closing is left alone.
 */
export function closeSocket(socket: WebSocket, code: number, reason: string, graceMs: number): void {
  const state = socket.readyState;
  if (state === WebSocket.CLOSING || state === WebSocket.CLOSED) return;
  socket.close(code, reason);
  // A join pauses the socket; the client's close frame must be read.
  socket.resume();
  setTimeout(() => socket.terminate(), graceMs).unref();
}
