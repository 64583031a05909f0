import type { JsonObject } from './dialect.ts';
import { isJsonObject, own } from './dialect.ts';
import { Failures } from './errors.ts';
import type { ProtocolLimits } from './limits.ts';
import type { Handshake, ProtocolError, Result, SetRequest, VariableEntry } from './messages.ts';
import { storeText } from './stored-value.ts';
import { checkUsername, isValidRoom, isValidValue, isValidVariableName } from './values.ts';

/** Substituted for an invalid initial value (PROTOCOL.md, handshake table). */
const REPLACEMENT_VALUE = '0';

/**
 * The dialect-independent handshake checks, once a dialect has picked the fields out, in
 * PROTOCOL.md's order: room, variables, each name, (values replaced), username.
 */
export function checkHandshake(room: unknown, variables: unknown, username: unknown, limits: ProtocolLimits): Result<Handshake, ProtocolError> {
  if (!isValidRoom(room, limits)) return Failures.roomInvalid;
  if (!isJsonObject(variables)) return Failures.variablesInvalid;
  // Own enumerable string keys only: JSON.parse makes `__proto__` an own data property.
  const names = Object.keys(variables);
  if (names.length < 1 || names.length > limits.maxVariables) return Failures.variablesCount;
  const entries: VariableEntry[] = [];
  const replaced: string[] = [];
  for (const name of names) {
    if (!isValidVariableName(name, limits)) return Failures.variableNameInvalid;
    const value = variables[name];
    if (isValidValue(value, limits)) {
      entries.push([name, storeText(value)]);
    } else {
      entries.push([name, REPLACEMENT_VALUE]);
      replaced.push(name);
    }
  }
  const user = checkUsername(username, limits);
  if (!user.ok) return user;
  return { ok: true, value: { kind: 'handshake', room, username: user.value, variables: entries, replaced } };
}

/** A set after the dialect's kind check; `variableField` is the dialect's name for `variable`. */
export function readSet(message: JsonObject, variableField: string, limits: ProtocolLimits): Result<SetRequest, ProtocolError> {
  const variable = own(message, variableField);
  if (typeof variable !== 'string') return Failures.variableMissing;
  if (!Object.hasOwn(message, 'value')) return Failures.valueMissing;
  const value = message['value'];
  if (isValidValue(value, limits)) return { ok: true, value: { kind: 'set', variable, value: storeText(value), valid: true } };
  return {
    ok: true,
    value: { kind: 'set', variable, value: typeof value === 'string' ? value : '', valid: false },
  };
}
