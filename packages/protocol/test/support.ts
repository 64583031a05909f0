import { DEFAULT_LIMITS, parseFrameMessages } from '../src/index.ts';
import type { ClientMessage, Dialect, ProtocolError, ProtocolLimits, Result } from '../src/index.ts';

/**
 * A frame that must hold exactly one message (every kind frame does), as a Result: the
 * message, or the error of the frame. Throws when a frame yields several messages.
 */
export function parseSingle(text: string, dialect: Dialect, limits: ProtocolLimits = DEFAULT_LIMITS): Result<ClientMessage, ProtocolError> {
  const { messages, error } = parseFrameMessages(text, dialect, limits);
  if (error !== null) {
    if (messages.length > 0) throw new Error(`expected one message or an error, got ${messages.length} messages and ${error.reason}`);
    return { ok: false, error };
  }
  if (messages.length !== 1) throw new Error(`expected one message, got ${messages.length}`);
  return { ok: true, value: messages[0] as ClientMessage };
}
