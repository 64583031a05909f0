import type { CloseCodeValue } from './close-codes.ts';

/** One variable: [name, value]. A list, not an object, so `__proto__` stays plain data. */
export type VariableEntry = readonly [name: string, value: string];

/** A handshake that passed every check the protocol alone can make (not room state). */
export interface Handshake {
  readonly kind: 'handshake';
  readonly room: string;
  readonly username: string;
  /** In the client's order; every value valid (invalid initial values replaced by "0"). */
  readonly variables: readonly VariableEntry[];
  /** Names whose initial value was invalid and replaced by "0", so the creator can be corrected. */
  readonly replaced: readonly string[];
}

/** A set whose fields have the right types. Whether `variable` exists is the room's business. */
export interface SetRequest {
  readonly kind: 'set';
  readonly variable: string;
  /** The value as sent; meaningful only when `valid`. */
  readonly value: string;
  /** False when the value is not a string or not a valid value: ignore it silently. */
  readonly valid: boolean;
}

export type ClientMessage = Handshake | SetRequest;

/** Why a frame was refused, and the close code that answers it. */
export interface ProtocolError {
  readonly code: CloseCodeValue;
  /** Short, stable, for logs: e.g. 'room-invalid', 'unknown-kind'. */
  readonly reason: string;
}

export type Result<T, E> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

/** A set as a client receives it, whatever the dialect's field names. */
export interface ServerSet {
  readonly kind: 'set';
  readonly variable: string;
  readonly value: string;
}
