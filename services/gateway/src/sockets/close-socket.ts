import { WebSocket } from 'ws';

/** A refused client has nothing more to say: its socket ends this soon if it ignores the close. */
export const REFUSAL_GRACE_MS = 1_000;
/** How long any other client has to complete a close handshake (after a socket error too). */
export const CLOSE_GRACE_MS = 5_000;

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
