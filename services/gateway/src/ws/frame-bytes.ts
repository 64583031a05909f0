/**
 * A text frame framed once for every client it goes to (STYLE.md "encode once, send many",
 * down to the WebSocket header): the outbox writes the very same bytes to each client's TCP
 * socket, one `write` each, where `ws`'s `send` would build a header, two option objects and a
 * two-chunk corked write per client.
 *
 * Only for what `ws` would send the same way: a server's frames are not masked (RFC 6455
 * 5.1), the pod negotiates no compression (plugins/cloud-socket.ts: perMessageDeflate off),
 * and the frame is whole (FIN). `ws`'s own writes to the socket (pings, pongs, the close
 * frame) are single synchronous writes too, so frames never interleave within one.
 */
import { Socket } from 'node:net';
import { WebSocket } from 'ws';

/** FIN and the text opcode (RFC 6455 5.2). */
const FIN_TEXT = 0x81;
/** Payload lengths up to this fit in the header's 7 bits; up to 65535 take 2 more bytes, then 8. */
const SHORT_PAYLOAD = 125;
const MEDIUM_PAYLOAD = 65_535;

/** `payload` (UTF-8) as one unmasked, final text frame: header and payload in one buffer. */
export function textFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const header = length <= SHORT_PAYLOAD ? 2 : length <= MEDIUM_PAYLOAD ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = FIN_TEXT;
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(payload, header, 'utf8');
  return frame;
}

/**
 * The TCP socket under a `ws` WebSocket, to write framed bytes to; null for anything else (a
 * test's sink) or a socket that negotiated an extension (then `ws` must frame every message).
 * `ws` keeps it in `_socket` from the upgrade on; its `bufferedAmount` counts what is written
 * to it directly as well.
 */
export function tcpSocketOf(sink: unknown): Socket | null {
  if (!(sink instanceof WebSocket) || sink.extensions !== '') return null;
  const socket: unknown = Reflect.get(sink, '_socket');
  return socket instanceof Socket ? socket : null;
}
