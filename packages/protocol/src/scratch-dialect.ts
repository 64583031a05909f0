import type { Dialect, JsonObject } from './dialect.ts';
import { own } from './dialect.ts';
import { Failures } from './errors.ts';
import type { ProtocolLimits } from './limits.ts';
import type { ClientMessage, DeleteRequest, Handshake, ProtocolError, RenameRequest, Result, ServerSet, SetRequest } from './messages.ts';
import { storeValue, storedValueJson, type CloudValue } from './stored-value.ts';
import { checkUsername, isValidScratchVariableName, isValidValue, projectIdToRoom } from './values.ts';

/*
 * The protocol of every cloud-variable client in use today: Scratch 3's editor, TurboWarp and
 * its Packager, forkphorus, scratchattach; TurboWarp's cloud-server speaks it too.
 *
 *   client -> {"method":"handshake","project_id":"123","user":"player1234"}
 *   client -> {"method":"set","name":"☁ score","value":12}\n      (or "create"; value string or number)
 *   client -> {"method":"rename","name":"☁ a","new_name":"☁ b"}  {"method":"delete","name":"☁ a"}
 *   server -> {"method":"set","name":"☁ score","value":12}        (a number stays a number, a string a string)
 *
 * Scratch adds `user` and `project_id` to every message; after the handshake they are ignored.
 */

const NO_ENTRIES: readonly string[] = Object.freeze([]);

/**
 * An empty value is valid here, though not a number: projects clear their cloud data with
 * it, and TurboWarp's server stores it. (The 2020 protocol keeps refusing it.)
 */
const EMPTY = '';

/** A scratch value as text: a string as sent, a finite number as JavaScript writes it; else undefined. */
function valueText(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  // 12, -0.5, 1e+21. NaN and Infinity cannot be written in JSON, but 1e999 parses to Infinity.
  return typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : undefined;
}

function readSet(message: JsonObject, limits: ProtocolLimits): Result<SetRequest, ProtocolError> {
  const variable = own(message, 'name');
  if (typeof variable !== 'string') return Failures.variableMissing;
  if (!isValidScratchVariableName(variable, limits)) return Failures.variableNameInvalid;
  // Missing, null, booleans, objects and non-finite numbers are invalid values, ignored as
  // TurboWarp's server ignores them (Scratch's editor omits `value` when it is null).
  // The length and the number rule judge the text as sent (a number: as JavaScript writes it);
  // the store keeps the value with its type (stored-value.ts).
  const raw = own(message, 'value');
  const value = valueText(raw);
  if (value !== undefined && (value === EMPTY || isValidValue(value, limits))) {
    return { ok: true, value: { kind: 'set', variable, value: storeValue(typeof raw === 'number' ? raw : value), valid: true } };
  }
  return { ok: true, value: { kind: 'set', variable, value: value ?? '', valid: false } };
}

function readRename(message: JsonObject, limits: ProtocolLimits): Result<RenameRequest, ProtocolError> {
  const variable = own(message, 'name');
  if (typeof variable !== 'string') return Failures.variableMissing;
  const newName = own(message, 'new_name');
  if (!isValidScratchVariableName(newName, limits)) return Failures.newNameInvalid;
  return { ok: true, value: { kind: 'rename', variable, newName } };
}

function readDelete(message: JsonObject): Result<DeleteRequest, ProtocolError> {
  const variable = own(message, 'name');
  if (typeof variable !== 'string') return Failures.variableMissing;
  return { ok: true, value: { kind: 'delete', variable } };
}

function parseHandshake(message: JsonObject, limits: ProtocolLimits): Result<Handshake, ProtocolError> {
  const method = own(message, 'method');
  if (typeof method !== 'string') return Failures.missingMethod;
  if (method !== 'handshake') return Failures.expectedHandshake;
  const room = projectIdToRoom(own(message, 'project_id'), limits);
  if (room === undefined) return Failures.roomInvalid;
  const user = checkUsername(own(message, 'user'), limits, limits.scratchUsernameMinLength);
  if (!user.ok) return user;
  return { ok: true, value: { kind: 'handshake', room, username: user.value, variables: null, replaced: NO_ENTRIES } };
}

function parseMessage(message: JsonObject, limits: ProtocolLimits): Result<ClientMessage, ProtocolError> {
  const method = own(message, 'method');
  switch (method) {
    case 'set':
    case 'create':
      return readSet(message, limits);
    case 'rename':
      return readRename(message, limits);
    case 'delete':
      return readDelete(message);
    case 'handshake':
      return Failures.handshakeRepeated;
    default:
      return typeof method === 'string' ? Failures.unknownMethod : Failures.missingMethod;
  }
}

/**
 * JSON text of a string, with U+0085, U+2028 and U+2029 escaped as well: JSON allows them
 * raw, but scratchattach splits a frame with Python's `str.splitlines()`, which breaks lines
 * there too. JSON.stringify already escapes every other line break.
 */
const PY_LINE_BREAKS = /[\u0085\u2028\u2029]/g;
function jsonString(text: string): string {
  const json = JSON.stringify(text);
  PY_LINE_BREAKS.lastIndex = 0;
  return PY_LINE_BREAKS.test(json) ? json.replace(PY_LINE_BREAKS, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : json;
}

const SET_HEAD = '{"method":"set","name":';
const VALUE_HEAD = ',"value":';

// Server side: the stored value with its JSON type, a number as a JSON number and a string as
// a JSON string, as TurboWarp's server relays them. Scratch's VM, TurboWarp, the Packager and
// forkphorus assign the value as received; bots (Mist, scratchattach) do arithmetic with it,
// where `"1" + 1` is `"11"`.
function encodeSet(variable: string, stored: string): string {
  return SET_HEAD + jsonString(variable) + VALUE_HEAD + storedValueJson(stored, jsonString) + '}';
}

/** A value as a client writes it: a number as a JSON number, a string as a JSON string. */
function valueJson(value: CloudValue): string {
  return typeof value === 'number' ? JSON.stringify(value) : jsonString(value);
}

// Client side: the same shape, the value as the caller typed it.
function encodeClientSet(variable: string, value: CloudValue): string {
  return SET_HEAD + jsonString(variable) + VALUE_HEAD + valueJson(value) + '}';
}

function encodeHandshake(room: string, username: string): string {
  return '{"method":"handshake","project_id":' + jsonString(room) + ',"user":' + jsonString(username) + '}';
}

function parseServerMessage(message: JsonObject): ServerSet | undefined {
  if (own(message, 'method') !== 'set') return undefined;
  const variable = own(message, 'name');
  if (typeof variable !== 'string') return undefined;
  // TurboWarp's server echoes a number as a number.
  const received = own(message, 'value');
  const value = valueText(received);
  return value === undefined ? undefined : { kind: 'set', variable, value, received: typeof received === 'number' ? received : value };
}

/** The scratch dialect (Scratch 3, TurboWarp and its Packager, forkphorus, scratchattach). */
export const scratchDialect: Dialect = Object.freeze({
  name: 'scratch',
  setsCreateVariables: true,
  manyMessagesPerFrame: true,
  /** An own `method` and no `kind`. */
  claims: (message: JsonObject) => Object.hasOwn(message, 'method') && !Object.hasOwn(message, 'kind'),
  parseHandshake,
  parseMessage,
  encodeSet,
  encodeHandshake,
  encodeClientSet,
  parseServerMessage,
});

/** Client side: a create (TurboWarp's server treats it as a set). */
export function encodeScratchCreate(variable: string, value: CloudValue): string {
  return '{"method":"create","name":' + jsonString(variable) + VALUE_HEAD + valueJson(value) + '}';
}

/** Client side: a rename. */
export function encodeScratchRename(variable: string, newName: string): string {
  return '{"method":"rename","name":' + jsonString(variable) + ',"new_name":' + jsonString(newName) + '}';
}

/** Client side: a delete. */
export function encodeScratchDelete(variable: string): string {
  return '{"method":"delete","name":' + jsonString(variable) + '}';
}
