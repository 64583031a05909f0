import type { Dialect } from './dialect.ts';
import { isJsonObject } from './dialect.ts';
import { detectDialect, scratchDialect } from './dialects.ts';
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

const SPACE = 32;
const TAB = 9;
const CR = 13;
const LF = 10;

/** Whether text[start, end) is only JSON whitespace. Stops at the first other character. */
function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code !== SPACE && code !== TAB && code !== CR && code !== LF) return false;
  }
  return true;
}

export interface HandshakeFrame {
  /** The dialect the connection speaks from now on, in both directions. */
  readonly dialect: Dialect;
  readonly handshake: Handshake;
  /**
   * Scratch dialect: what the first frame holds after the handshake's line (a client may send
   * sets in the same frame), to be read with `parseFrame` once joined exactly as if it were
   * the next frame. '' when nothing but blank lines follows, and always for kind dialects.
   */
  readonly rest: string;
}

/**
 * A connection's first frame. First failure wins, in this order: JSON, object, dialect
 * (`method` without `kind` is scratch, then `room` seed, `id` legacy, else seed's rules),
 * then the dialect's checks: kind dialects `kind`, kind is 'handshake', room, variables
 * (object, count), names, username (4002); scratch `method` is 'handshake', project_id,
 * user (4002).
 *
 * A kind frame is one JSON object. A scratch first frame may also be several lines: when the
 * frame as a whole is not JSON, its first non-blank line is read, and if that is a scratch
 * message the rest of the frame is returned unread in `rest`. Otherwise the frame is not JSON.
 */
export function parseHandshakeFrame(text: string, limits: ProtocolLimits = DEFAULT_LIMITS): Result<HandshakeFrame, ProtocolError> {
  const message = decode(text);
  if (message !== NOT_JSON) {
    if (!isJsonObject(message)) return Failures.notAnObject;
    const dialect = detectDialect(message);
    const handshake = dialect.parseHandshake(message, limits);
    if (!handshake.ok) return handshake;
    return { ok: true, value: { dialect, handshake: handshake.value, rest: '' } };
  }
  // Not JSON as a whole: maybe a scratch handshake followed by more lines.
  let start = 0;
  for (;;) {
    const newline = text.indexOf('\n', start);
    if (newline === -1) return Failures.invalidJson; // one line, and it is not JSON
    if (!isBlank(text, start, newline)) {
      const first = decode(text.slice(start, newline));
      if (!isJsonObject(first) || !scratchDialect.claims(first)) return Failures.invalidJson;
      const handshake = scratchDialect.parseHandshake(first, limits);
      if (!handshake.ok) return handshake;
      const rest = isBlank(text, newline + 1, text.length) ? '' : text.slice(newline + 1);
      return { ok: true, value: { dialect: scratchDialect, handshake: handshake.value, rest } };
    }
    start = newline + 1;
  }
}

/**
 * Receives the messages of a frame from `parseFrame`, one call each, in order. An object
 * with a method (not a bare function), so a session can be its own sink with no closure.
 */
export interface MessageSink {
  /** Return false to stop reading the frame (the connection is closing); true to go on. */
  onClientMessage(message: ClientMessage): boolean;
}

/**
 * Any frame after the handshake, in the connection's dialect: hands every message to `sink`,
 * in order, and returns null, or returns the error of the first bad message, after handing
 * over the messages before it (apply those, then close with the error's code). Reading stops
 * early, with null, when the sink returns false.
 *
 * Kind dialects: the frame is one JSON object, one message. Scratch: the frame is lines
 * separated by `\n`, each one message; blank lines are skipped, and a frame with no message
 * at all is `empty-frame`. A set with an invalid value parses (valid: false) so the gateway
 * can ignore it silently; a kind handshake parses too, and the gateway closes with 4000
 * because it is not the first (a scratch handshake here is `handshake-repeated`).
 */
export function parseFrame(text: string, dialect: Dialect, limits: ProtocolLimits, sink: MessageSink): ProtocolError | null {
  if (dialect.manyMessagesPerFrame) {
    const newline = text.indexOf('\n');
    // The common frames, one message with or without Scratch's final newline: no split.
    if (newline !== -1 && newline !== text.length - 1) return parseLines(text, dialect, limits, sink);
    if (isBlank(text, 0, text.length)) return Failures.emptyFrame.error;
  }
  const parsed = parseOne(text, dialect, limits);
  if (!parsed.ok) return parsed.error;
  sink.onClientMessage(parsed.value);
  return null;
}

function parseOne(text: string, dialect: Dialect, limits: ProtocolLimits): Result<ClientMessage, ProtocolError> {
  const message = decode(text);
  if (message === NOT_JSON) return Failures.invalidJson;
  if (!isJsonObject(message)) return Failures.notAnObject;
  return dialect.parseMessage(message, limits);
}

function parseLines(text: string, dialect: Dialect, limits: ProtocolLimits, sink: MessageSink): ProtocolError | null {
  let messages = 0;
  for (const line of text.split('\n')) {
    if (isBlank(line, 0, line.length)) continue;
    messages++;
    const parsed = parseOne(line, dialect, limits);
    if (!parsed.ok) return parsed.error;
    if (!sink.onClientMessage(parsed.value)) return null;
  }
  return messages === 0 ? Failures.emptyFrame.error : null;
}

/** Every message of a frame up to its first bad one, and that one's error (null if none). */
export interface FrameMessages {
  readonly messages: readonly ClientMessage[];
  readonly error: ProtocolError | null;
}

/**
 * `parseFrame` collecting into a list: for tests, bots and tools. The gateway's hot path
 * uses `parseFrame` with a sink, which allocates no list.
 */
export function parseFrameMessages(text: string, dialect: Dialect, limits: ProtocolLimits = DEFAULT_LIMITS): FrameMessages {
  const messages: ClientMessage[] = [];
  const error = parseFrame(text, dialect, limits, {
    onClientMessage(message) {
      messages.push(message);
      return true;
    },
  });
  return { messages, error };
}
