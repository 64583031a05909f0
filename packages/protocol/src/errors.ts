import { CloseCode } from './close-codes.ts';
import type { CloseCodeValue } from './close-codes.ts';
import type { ProtocolError } from './messages.ts';

export interface Failure {
  readonly ok: false;
  readonly error: ProtocolError;
}

function failure(code: CloseCodeValue, reason: string): Failure {
  return Object.freeze({ ok: false as const, error: Object.freeze({ code, reason }) });
}

/** Every refusal is a shared constant, so refusing a frame allocates nothing. */
export const Failures = Object.freeze({
  invalidJson: failure(CloseCode.Generic, 'invalid-json'),
  notAnObject: failure(CloseCode.Generic, 'not-an-object'),
  /** Scratch dialect: a frame with no message in it (empty, or only blank lines). */
  emptyFrame: failure(CloseCode.Generic, 'empty-frame'),
  missingKind: failure(CloseCode.Generic, 'missing-kind'),
  /** Scratch dialect: `method` is missing or not a string. */
  missingMethod: failure(CloseCode.Generic, 'missing-method'),
  /** A first frame whose kind (or scratch `method`) is a string other than 'handshake'. */
  expectedHandshake: failure(CloseCode.Generic, 'expected-handshake'),
  unknownKind: failure(CloseCode.Generic, 'unknown-kind'),
  /** Scratch dialect: a string `method` other than handshake, set, create, rename, delete. */
  unknownMethod: failure(CloseCode.Generic, 'unknown-method'),
  /** Kind dialects: a bad `room` / `id`. Scratch dialect: a bad `project_id`. */
  roomInvalid: failure(CloseCode.Generic, 'room-invalid'),
  /** `variables` is missing, not an object, an array or null. */
  variablesInvalid: failure(CloseCode.Generic, 'variables-invalid'),
  /** `variables` has no entry, or more than the limit. */
  variablesCount: failure(CloseCode.Generic, 'variables-count'),
  /** A handshake's variable name, or a scratch set's `name`, that is a string but not a valid name. */
  variableNameInvalid: failure(CloseCode.Generic, 'variable-name-invalid'),
  /** Scratch dialect: a rename's `new_name` that is missing or not a valid name. */
  newNameInvalid: failure(CloseCode.Generic, 'new-name-invalid'),
  usernameInvalid: failure(CloseCode.Username, 'username-invalid'),
  usernameBlocked: failure(CloseCode.Username, 'username-blocked'),
  /** The variable field (`variable`, `var`, scratch `name`) is missing or not a string. */
  variableMissing: failure(CloseCode.Generic, 'variable-missing'),
  valueMissing: failure(CloseCode.Generic, 'value-missing'),
  /**
   * A second handshake. Kind dialects: one whose own checks failed with another code (a valid
   * one parses and the gateway closes). Scratch dialect: every handshake after the first.
   */
  handshakeRepeated: failure(CloseCode.Generic, 'handshake-repeated'),
});
