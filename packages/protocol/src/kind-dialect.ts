import type { Dialect, DialectName, JsonObject } from './dialect.ts';
import { CloseCode } from './close-codes.ts';
import { own } from './dialect.ts';
import { Failures } from './errors.ts';
import { checkHandshake, readSet } from './fields.ts';
import type { ProtocolLimits } from './limits.ts';
import type { ClientMessage, Handshake, ProtocolError, Result, ServerSet, VariableEntry } from './messages.ts';
import { storedText, type CloudValue } from './stored-value.ts';

/** What a dialect built on `kind` messages (seed-protocol.md's shape) may rename. */
export interface KindDialectSpec {
  readonly name: DialectName;
  /** The handshake field holding the room. */
  readonly roomField: string;
  /** The set field holding the variable name, in both directions. */
  readonly variableField: string;
  /** Reads the room field's raw value; returns anything `isValidRoom` should judge. */
  readonly readRoom: (raw: unknown) => unknown;
  readonly claims: (message: JsonObject) => boolean;
}

/** A dialect whose messages carry `kind`, differing from the seed only in field names. */
export function kindDialect(spec: KindDialectSpec): Dialect {
  const { roomField, variableField, readRoom } = spec;
  // Encode once: only the two strings are serialized per message.
  const setHead = `{"kind":"set",${JSON.stringify(variableField)}:`;
  const valueHead = ',"value":';

  function parseHandshake(message: JsonObject, limits: ProtocolLimits): Result<Handshake, ProtocolError> {
    const kind = own(message, 'kind');
    if (typeof kind !== 'string') return Failures.missingKind;
    if (kind !== 'handshake') return Failures.expectedHandshake;
    return checkHandshake(readRoom(own(message, roomField)), own(message, 'variables'), own(message, 'username'), limits);
  }

  function parseMessage(message: JsonObject, limits: ProtocolLimits): Result<ClientMessage, ProtocolError> {
    const kind = own(message, 'kind');
    if (kind === 'set') return readSet(message, variableField, limits);
    if (typeof kind !== 'string') return Failures.missingKind;
    if (kind !== 'handshake') return Failures.unknownKind;
    // Any second handshake closes with 4000 (it is not the first message), whatever else
    // is wrong with it, so a username problem must not turn it into a 4002.
    const handshake = parseHandshake(message, limits);
    return handshake.ok || handshake.error.code === CloseCode.Generic ? handshake : Failures.handshakeRepeated;
  }

  // Server side: every value is a string, as the 2020 spec says (a number as its text).
  function encodeSet(variable: string, stored: string): string {
    return setHead + JSON.stringify(variable) + valueHead + JSON.stringify(storedText(stored)) + '}';
  }

  // Client side: the same shape; the spec's values are strings, so a number goes as its text.
  function encodeClientSet(variable: string, value: CloudValue): string {
    return setHead + JSON.stringify(variable) + valueHead + JSON.stringify(String(value)) + '}';
  }

  function encodeHandshake(room: string, username: string, variables: readonly VariableEntry[]): string {
    // fromEntries defines own properties, so a variable named `__proto__` stays data.
    return JSON.stringify({ kind: 'handshake', [roomField]: room, username, variables: Object.fromEntries(variables) });
  }

  function parseServerMessage(message: JsonObject): ServerSet | undefined {
    const variable = own(message, variableField);
    const value = own(message, 'value');
    if (own(message, 'kind') !== 'set' || typeof variable !== 'string' || typeof value !== 'string') return undefined;
    return { kind: 'set', variable, value, received: value };
  }

  return Object.freeze({
    name: spec.name,
    setsCreateVariables: false,
    manyMessagesPerFrame: false,
    claims: spec.claims,
    parseHandshake,
    parseMessage,
    encodeSet,
    encodeHandshake,
    encodeClientSet,
    parseServerMessage,
  });
}
