import type { Dialect, DialectName } from './dialect.ts';
import { isJsonObject } from './dialect.ts';
import { dialects } from './dialects.ts';
import type { ServerSet, VariableEntry } from './messages.ts';
import { readStoredValue, storedText, type CloudValue } from './stored-value.ts';

/** Server side: one set message of a stored value in the connection's dialect. Encode once per dialect, send many. */
export function encodeSet(dialect: Dialect, variable: string, stored: string): string {
  return dialect.encodeSet(variable, stored);
}

/** Several server messages in one WebSocket frame: newline-separated, not a JSON list. */
export function joinFrame(messages: readonly string[]): string {
  return messages.join('\n');
}

// Array.isArray does not narrow a readonly array out of a union; this guard does.
function isEntries(variables: Readonly<Record<string, string>> | readonly VariableEntry[]): variables is readonly VariableEntry[] {
  return Array.isArray(variables);
}

/**
 * Client side: a handshake. Entries keep their order and let `__proto__` be a name. Scratch:
 * `room` is sent as the `project_id` (the server maps it to a room id) and `variables` are
 * ignored (a scratch client declares none).
 */
export function encodeHandshake(
  dialectName: DialectName,
  room: string,
  username: string,
  variables: Readonly<Record<string, string>> | readonly VariableEntry[],
): string {
  const entries = isEntries(variables) ? variables : Object.entries(variables);
  return dialects[dialectName].encodeHandshake(room, username, entries);
}

/** Client side: a set. */
export function encodeClientSet(dialectName: DialectName, variable: string, value: CloudValue): string {
  return dialects[dialectName].encodeClientSet(variable, value);
}

/** A server frame a client could not read: the server broke the protocol. */
export class ServerFrameError extends Error {
  readonly code = 'CV_ERR_SERVER_FRAME';
  constructor(
    message: string,
    readonly frame: string,
  ) {
    super(message);
    this.name = 'ServerFrameError';
  }
}

/** Client side: every set in a server frame, in order. Throws ServerFrameError on anything else. */
export function parseServerFrame(text: string, dialectName: DialectName): ServerSet[] {
  const dialect = dialects[dialectName];
  const sets: ServerSet[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new ServerFrameError(`message ${index} of ${lines.length} is not JSON: ${String(error)}`, text);
    }
    const set = isJsonObject(parsed) ? dialect.parseServerMessage(parsed) : undefined;
    if (set === undefined) {
      throw new ServerFrameError(`message ${index} of ${lines.length} is not a ${dialectName} set: ${line.slice(0, 200)}`, text);
    }
    sets.push(set);
  }
  return sets;
}

/**
 * Client side: what a client of `dialectName` holds once it receives a value stored as
 * `stored` (docs/PROTOCOL.md, "Value types"): a Scratch 3 client the typed value, a 2020
 * client (strings by its spec) the text, the mark removed. It is the `received` that
 * parseServerFrame gives for the dialect's set of it; tests and the soak compare a client's
 * view with it, never with the stored text.
 */
export function receivedValue(dialectName: DialectName, stored: string): CloudValue {
  return dialectName === 'scratch' ? readStoredValue(stored) : storedText(stored);
}
