/**
 * The client side of the wire format, seed dialect. Temporary local adapter with the same
 * names as @cloudvars/protocol's client encoders (encodeHandshake, encodeClientSet,
 * parseServerFrame); replaced by re-exports once that module lands.
 */

export interface ReceivedSet {
  readonly variable: string;
  readonly value: string;
}

export class WireError extends Error {
  readonly code = 'CV_ERR_LOADGEN_WIRE';
}

export function encodeHandshake(room: string, username: string, variables: Record<string, string>): string {
  return JSON.stringify({ kind: 'handshake', room, username, variables });
}

export function encodeClientSet(variable: string, value: string): string {
  return JSON.stringify({ kind: 'set', variable, value });
}

/** Every set in a server frame (messages separated by '\n'); throws on anything else. */
export function parseServerFrame(text: string): ReceivedSet[] {
  const out: ReceivedSet[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const msg: unknown = JSON.parse(line);
    if (typeof msg !== 'object' || msg === null) throw new WireError(`not an object: ${line}`);
    const kind: unknown = Reflect.get(msg, 'kind');
    const variable: unknown = Reflect.get(msg, 'variable');
    const value: unknown = Reflect.get(msg, 'value');
    if (kind !== 'set' || typeof variable !== 'string' || typeof value !== 'string') {
      throw new WireError(`not a set message: ${line}`);
    }
    out.push({ variable, value });
  }
  return out;
}
