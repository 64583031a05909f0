import type { Dialect } from './dialect.ts';
import { isJsonObject } from './dialect.ts';
import { detectDialect } from './dialects.ts';
import { Failures } from './errors.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import type { ProtocolLimits } from './limits.ts';
import type { ClientMessage, Handshake, ProtocolError, Result } from './messages.ts';

/** A sentinel, not a Result, so a valid frame costs no wrapper object. */
const NOT_JSON: unique symbol = Symbol('not-json');

function decode(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Any parse failure (SyntaxError, or RangeError on absurd nesting) is the client's: 4000.
    return NOT_JSON;
  }
}

export interface HandshakeFrame {
  /** The dialect the connection speaks from now on, in both directions. */
  readonly dialect: Dialect;
  readonly handshake: Handshake;
}

/**
 * A connection's first frame. First failure wins, in this order: JSON, object, `kind`,
 * kind is 'handshake', room, variables (object, count), names, username (4002).
 */
export function parseHandshakeFrame(
  text: string,
  limits: ProtocolLimits = DEFAULT_LIMITS,
): Result<HandshakeFrame, ProtocolError> {
  const message = decode(text);
  if (message === NOT_JSON) return Failures.invalidJson;
  if (!isJsonObject(message)) return Failures.notAnObject;
  const dialect = detectDialect(message);
  const handshake = dialect.parseHandshake(message, limits);
  if (!handshake.ok) return handshake;
  return { ok: true, value: { dialect, handshake: handshake.value } };
}

/**
 * Any frame after the handshake, in the connection's dialect. A set with an invalid value
 * parses (valid: false) so the gateway can ignore it silently; a handshake parses too, and
 * the gateway closes with 4000 because it is not the first.
 */
export function parseFrame(
  text: string,
  dialect: Dialect,
  limits: ProtocolLimits = DEFAULT_LIMITS,
): Result<ClientMessage, ProtocolError> {
  const message = decode(text);
  if (message === NOT_JSON) return Failures.invalidJson;
  if (!isJsonObject(message)) return Failures.notAnObject;
  return dialect.parseMessage(message, limits);
}
