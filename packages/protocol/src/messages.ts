import type { CloseCodeValue } from './close-codes.ts';
import type { CloudValue } from './stored-value.ts';

/** One variable: [name, value]. A list, not an object, so `__proto__` stays plain data. */
export type VariableEntry = readonly [name: string, value: string];

/** A handshake that passed every check the protocol alone can make (not room state). */
export interface Handshake {
  readonly kind: 'handshake';
  readonly room: string;
  readonly username: string;
  /**
   * In the client's order; every value valid (invalid initial values replaced by "0"), as
   * stored (stored-value.ts: the text as sent, a leading U+0001 doubled).
   * Null when the client declares no variables (the scratch dialect): it takes the room as it
   * is, and its sets create variables.
   */
  readonly variables: readonly VariableEntry[] | null;
  /** Names whose initial value was invalid and replaced by "0", so the creator can be corrected. Empty when `variables` is null. */
  readonly replaced: readonly string[];
}

/** A set whose fields have the right types. Whether `variable` exists is the room's business. */
export interface SetRequest {
  readonly kind: 'set';
  readonly variable: string;
  /**
   * The value as stored (stored-value.ts); meaningful only when `valid`. Kind dialects: the
   * text as sent (`storeText`). Scratch dialect: `storeValue` of a string or a finite number,
   * so the type survives. When not valid: the text as sent, for logs.
   */
  readonly value: string;
  /**
   * False when the value is not a valid value: ignore it silently. Kind dialects: not a string,
   * or not valid. Scratch dialect: missing, null, a boolean, an object, a non-finite number, or
   * text that is not valid.
   */
  readonly valid: boolean;
}

/** Scratch dialect: rename a variable. `newName` is a valid variable name; whether `variable` exists is the room's business. */
export interface RenameRequest {
  readonly kind: 'rename';
  readonly variable: string;
  readonly newName: string;
}

/** Scratch dialect: delete a variable. Whether it exists is the room's business. */
export interface DeleteRequest {
  readonly kind: 'delete';
  readonly variable: string;
}

/** A scratch `create` parses to a SetRequest: it is treated as a set. */
export type ClientMessage = Handshake | SetRequest | RenameRequest | DeleteRequest;

/** Why a frame was refused, and the close code that answers it. */
export interface ProtocolError {
  readonly code: CloseCodeValue;
  /** Short, stable, for logs: e.g. 'room-invalid', 'unknown-kind'. */
  readonly reason: string;
}

export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** A set as a client receives it, whatever the dialect's field names. */
export interface ServerSet {
  readonly kind: 'set';
  readonly variable: string;
  /** As text: a string as received, a number as `String(n)` (the load generator's ledger compares text). */
  readonly value: string;
  /**
   * As the JSON had it: a Scratch 3 client's number stays a number (docs/PROTOCOL.md, "Value
   * types"); a 2020 dialect's value is always a string. `String(received)` is `value`.
   */
  readonly received: CloudValue;
}
