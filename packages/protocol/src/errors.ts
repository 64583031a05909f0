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
  missingKind: failure(CloseCode.Generic, 'missing-kind'),
  /** A first frame whose kind is a string other than 'handshake' (a set, or unknown). */
  expectedHandshake: failure(CloseCode.Generic, 'expected-handshake'),
  unknownKind: failure(CloseCode.Generic, 'unknown-kind'),
  roomInvalid: failure(CloseCode.Generic, 'room-invalid'),
  /** `variables` is missing, not an object, an array or null. */
  variablesInvalid: failure(CloseCode.Generic, 'variables-invalid'),
  /** `variables` has no entry, or more than the limit. */
  variablesCount: failure(CloseCode.Generic, 'variables-count'),
  variableNameInvalid: failure(CloseCode.Generic, 'variable-name-invalid'),
  usernameInvalid: failure(CloseCode.Username, 'username-invalid'),
  usernameBlocked: failure(CloseCode.Username, 'username-blocked'),
  variableMissing: failure(CloseCode.Generic, 'variable-missing'),
  valueMissing: failure(CloseCode.Generic, 'value-missing'),
  /** A handshake after the first frame whose own checks failed with another code. */
  handshakeRepeated: failure(CloseCode.Generic, 'handshake-repeated'),
});
