/**
 * The client side of the wire format, seed dialect, from @cloudvars/protocol: the
 * generator speaks exactly what the gateway parses, not a copy of it.
 */
import { encodeClientSet as encodeSet, encodeHandshake as encodeJoin, parseServerFrame as parseFrame, type ServerSet } from '@cloudvars/protocol';

export type ReceivedSet = ServerSet;

export function encodeHandshake(room: string, username: string, variables: Record<string, string>): string {
  return encodeJoin('seed', room, username, variables);
}

export function encodeClientSet(variable: string, value: string): string {
  return encodeSet('seed', variable, value);
}

/** Every set in a server frame (messages separated by '\n'); throws ServerFrameError on anything else. */
export function parseServerFrame(text: string): ServerSet[] {
  return parseFrame(text, 'seed');
}
