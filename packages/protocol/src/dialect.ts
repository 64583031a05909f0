import type { ProtocolLimits } from './limits.ts';
import type { ClientMessage, Handshake, ProtocolError, Result, ServerSet, VariableEntry } from './messages.ts';
import type { CloudValue } from './stored-value.ts';

/** A decoded JSON object (not an array, not null). Read it with `own()`, never `obj[key]`. */
export type JsonObject = { readonly [key: string]: unknown };

export type DialectName = 'seed' | 'legacy' | 'scratch';

/**
 * One way of spelling the protocol on the wire, chosen per connection by its first frame.
 * Everything a dialect changes lives behind this interface, so a new dialect is a new file
 * plus one line in `dialects.ts`; the gateway only holds a `Dialect` and calls through it.
 */
export interface Dialect {
  readonly name: DialectName;
  /**
   * Whether a set may create a variable the room does not have. Kind dialects: false (names
   * are declared at the handshake; an unknown name is 4000). Scratch: true (no names are
   * declared; a set of a new name creates it, within the room's limit).
   */
  readonly setsCreateVariables: boolean;
  /**
   * Whether one client frame may hold several messages separated by `\n` (scratch: Scratch
   * ends every frame with one, scratchattach batches sets). Kind dialects: one JSON object
   * per frame (which may itself contain newlines as JSON whitespace).
   */
  readonly manyMessagesPerFrame: boolean;
  /**
   * Whether a connection's first frame (already a JSON object) is this dialect's handshake.
   * Asked in the registry's order; the first dialect that claims the frame parses it.
   */
  claims(message: JsonObject): boolean;
  /** The first frame: every check of PROTOCOL.md's handshake table that needs no room state. */
  parseHandshake(message: JsonObject, limits: ProtocolLimits): Result<Handshake, ProtocolError>;
  /** Any later message (one line of a scratch frame). Called for every set: must stay cheap. */
  parseMessage(message: JsonObject, limits: ProtocolLimits): Result<ClientMessage, ProtocolError>;
  /**
   * Server -> client: one set message (no newline) of a stored value (stored-value.ts), in the
   * dialect's types (scratch: a number or a string; kind dialects: always a string). The same
   * string goes to every recipient.
   */
  encodeSet(variable: string, stored: string): string;
  /** Client side (tests, bots, load generator). Scratch declares no variables: it ignores them. */
  encodeHandshake(room: string, username: string, variables: readonly VariableEntry[]): string;
  /** Client side: a set of `value` as typed (kind dialects send a number as its text). */
  encodeClientSet(variable: string, value: CloudValue): string;
  /** Client side: a server message, or undefined when it is not a well-formed set. */
  parseServerMessage(message: JsonObject): ServerSet | undefined;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: `__proto__`, `constructor` and friends are plain data or absent. */
export function own(message: JsonObject, key: string): unknown {
  return Object.hasOwn(message, key) ? message[key] : undefined;
}
