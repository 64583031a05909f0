/**
 * A project's policy (issue 22): what an operator sets for one room at run time, overriding
 * the global settings for that room only. The API validates what it is given with
 * parsePolicy, and the policy book parses what it reads back from the engine with the same
 * function, so nothing the gateway enforces was cast from stored text.
 *
 * Fixed points of the contract: `{"blocked": true}` blocks, `{"frozen": true}` freezes,
 * `{"textValues": true}` allows text, `{"protected": ["☁ highscore", "☁ top*"]}` protects.
 */
import { SCRATCH_CLOUD_PREFIXES } from '@cloudvars/protocol';
import { valueNumber } from '@cloudvars/rooms';

/** A variable's rule: its numeric range, or that it only increases (a high score). */
export interface VariableRule {
  readonly min?: number;
  readonly max?: number;
  /** A set to a number not above the stored one is ignored. */
  readonly increasing?: boolean;
}

/** Limits for this project only, each instead of the global setting and within POLICY_CEILINGS. */
export interface PolicyLimits {
  readonly maxVariables?: number;
  readonly maxValueLength?: number;
  readonly maxRoomBytes?: number;
  readonly maxClientsPerRoom?: number;
  readonly setsPerSecond?: number;
}

export interface ProjectPolicy {
  /** Joined clients are closed and new ones refused with 4004 ("project unavailable"). */
  readonly blocked?: boolean;
  /** Read-only for clients: their sets, renames and deletes are ignored and counted; joins are served. */
  readonly frozen?: boolean;
  /** Why (an operator's note): logged with every client a block closes or refuses. */
  readonly reason?: string;
  /** Any text is a value in this room, whatever ALLOW_TEXT_VALUES says (false: numbers only). */
  readonly textValues?: boolean;
  /** Names or `<start>*` patterns only the API may set: clients' changes to them are ignored and counted. */
  readonly protected?: readonly string[];
  /** Name or pattern -> its rule. */
  readonly rules?: Readonly<Record<string, VariableRule>>;
  readonly limits?: PolicyLimits;
}

/**
 * The most a policy may grant, whatever the global settings: each bounds what one project
 * can take from the pods and the store that every other project shares.
 */
export const POLICY_CEILINGS: Readonly<Required<PolicyLimits>> = Object.freeze({
  /** The most MAX_VARIABLES accepts: every join sends the whole room. */
  maxVariables: 1_000,
  /** The most MAX_VALUE_LENGTH accepts; a value also has to fit a client's frame (MAX_PAYLOAD_BYTES). */
  maxValueLength: 10_000_000,
  /** 64 MiB: one room's names and values in the store, and in every pod that mirrors it. */
  maxRoomBytes: 64 * 1024 * 1024,
  /** Each set is written to every client of its room: this bounds one set's fan-out. */
  maxClientsPerRoom: 10_000,
  /** Per connection; FLOOD_LIMIT_PER_SECOND still bounds frames. */
  setsPerSecond: 1_000,
});

/** Protected names and patterns, and rules, per policy: each set of the room compares its variable with every one. */
export const MAX_POLICY_ENTRIES = 100;
/** An operator's note, in every log line of a block. */
export const MAX_REASON_LENGTH = 200;
/** The longest name or pattern: a variable name's limit (MAX_VARIABLE_NAME_LENGTH is 1024). */
const MAX_PATTERN_LENGTH = 1024;

export type PolicyParse = { readonly ok: true; readonly policy: ProjectPolicy } | { readonly ok: false; readonly message: string };

const FIELDS = new Set(['blocked', 'frozen', 'reason', 'textValues', 'protected', 'rules', 'limits']);
const LIMIT_FIELDS = new Set(Object.keys(POLICY_CEILINGS));
const RULE_FIELDS = new Set(['min', 'max', 'increasing']);

class Invalid extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function knownFields(value: Record<string, unknown>, known: ReadonlySet<string>, where: string): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new Invalid(`unknown field ${JSON.stringify(key)} in ${where} (known: ${[...known].join(', ')})`);
  }
}

function flag(value: unknown, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new Invalid(`${name} is true or false`);
  return value;
}

/**
 * A variable name (`☁ score`, or `:cloud: score` as Scratch's own server spells it), or
 * the start of names followed by one `*` at the end (`☁ top*`, `☁ *` for every variable).
 */
export function isVariablePattern(pattern: string): boolean {
  if (pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) return false;
  const star = pattern.indexOf('*');
  if (star !== -1 && star !== pattern.length - 1) return false;
  const start = star === -1 ? pattern : pattern.slice(0, -1);
  return SCRATCH_CLOUD_PREFIXES.some((prefix) => start.startsWith(prefix) && (star !== -1 || start.length > prefix.length));
}

/** Whether `name` is the pattern's name, or starts with a `*` pattern's start. */
export function matchesPattern(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

function pattern(value: unknown, where: string): string {
  if (typeof value !== 'string' || !isVariablePattern(value)) {
    throw new Invalid(`${where}: ${JSON.stringify(value)} is neither a cloud variable name ("☁ name") nor a "☁ start*" pattern (one * at the end)`);
  }
  return value;
}

function protectedList(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new Invalid('protected is a list of names and "☁ start*" patterns');
  if (value.length > MAX_POLICY_ENTRIES) throw new Invalid(`protected holds at most ${MAX_POLICY_ENTRIES} names and patterns`);
  return Object.freeze(value.map((entry: unknown) => pattern(entry, 'protected')));
}

function finite(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Invalid(`${name} is a number`);
  return value;
}

function rule(value: unknown, name: string): VariableRule {
  if (!isObject(value)) throw new Invalid(`the rule of ${JSON.stringify(name)} is an object: {"min": n, "max": n} or {"increasing": true}`);
  knownFields(value, RULE_FIELDS, `the rule of ${JSON.stringify(name)}`);
  const min = finite(value.min, `min of ${JSON.stringify(name)}`);
  const max = finite(value.max, `max of ${JSON.stringify(name)}`);
  const increasing = flag(value.increasing, `increasing of ${JSON.stringify(name)}`);
  if (min !== undefined && max !== undefined && min > max) throw new Invalid(`the rule of ${JSON.stringify(name)} has min above max`);
  if (min === undefined && max === undefined && increasing !== true)
    throw new Invalid(`the rule of ${JSON.stringify(name)} says nothing: give min, max or "increasing": true`);
  return Object.freeze({ ...(min !== undefined && { min }), ...(max !== undefined && { max }), ...(increasing !== undefined && { increasing }) });
}

function rules(value: unknown): Readonly<Record<string, VariableRule>> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new Invalid('rules is an object: variable name or pattern -> rule');
  const entries = Object.entries(value);
  if (entries.length > MAX_POLICY_ENTRIES) throw new Invalid(`rules holds at most ${MAX_POLICY_ENTRIES} entries`);
  // Names start with a cloud prefix, so none is an Object.prototype key; a null prototype keeps it so anyway.
  const parsed: Record<string, VariableRule> = Object.create(null) as Record<string, VariableRule>;
  for (const [name, entry] of entries) parsed[pattern(name, 'rules')] = rule(entry, name);
  return Object.freeze(parsed);
}

function limits(value: unknown): PolicyLimits | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new Invalid('limits is an object');
  knownFields(value, LIMIT_FIELDS, 'limits');
  const parsed: Record<string, number> = {};
  for (const [name, ceiling] of Object.entries(POLICY_CEILINGS)) {
    const limit = value[name];
    if (limit === undefined) continue;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) throw new Invalid(`limits.${name} is a whole number of at least 1`);
    if (limit > ceiling) throw new Invalid(`limits.${name} is over its ceiling, ${ceiling}`);
    parsed[name] = limit;
  }
  return Object.freeze(parsed);
}

/** A policy from JSON (the API's body, or the text the engine kept), or why it is not one. */
export function parsePolicy(input: unknown): PolicyParse {
  try {
    if (!isObject(input)) throw new Invalid('a policy is a JSON object');
    knownFields(input, FIELDS, 'the policy');
    const reason = input.reason;
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH)) {
      throw new Invalid(`reason is text of at most ${MAX_REASON_LENGTH} characters`);
    }
    const policy: ProjectPolicy = {
      ...optional('blocked', flag(input.blocked, 'blocked')),
      ...optional('frozen', flag(input.frozen, 'frozen')),
      ...optional('reason', reason),
      ...optional('textValues', flag(input.textValues, 'textValues')),
      ...optional('protected', protectedList(input.protected)),
      ...optional('rules', rules(input.rules)),
      ...optional('limits', limits(input.limits)),
    };
    return { ok: true, policy: Object.freeze(policy) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, message: error.message };
    throw error;
  }
}

/** A policy from the text the engine kept (JSON.stringify of a parsed one). */
export function policyFromText(text: string): PolicyParse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the text is not JSON' };
  }
  return parsePolicy(json);
}

/** `{key: value}`, or nothing when the value is absent (so the policy keeps no undefined fields). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Whether a client's change of `variable` is refused by the policy: 'frozen', 'protected', or null. */
export function refusedChange(policy: ProjectPolicy, variable: string): 'frozen' | 'protected' | null {
  if (policy.frozen === true) return 'frozen';
  if (policy.protected?.some((entry) => matchesPattern(entry, variable)) === true) return 'protected';
  return null;
}

/**
 * What the store must check for a client's set of `variable` under the policy, atomically
 * with the set: "only increases" (it compares with the stored value) and the project's
 * variable and byte limits. Empty when none applies.
 */
export function storeChecks(policy: ProjectPolicy, variable: string): { increasing?: true; maxVariables?: number; maxRoomBytes?: number } {
  const increasing = Object.entries(policy.rules ?? {}).some(([entry, rule]) => rule.increasing === true && matchesPattern(entry, variable));
  return { ...(increasing && { increasing: true }), ...roomBudget(policy) };
}

/** The project's own variable and byte limits, for the store to judge a change or a join by instead of the engine's. */
export function roomBudget(policy: ProjectPolicy | null): { maxVariables?: number; maxRoomBytes?: number } {
  const { maxVariables, maxRoomBytes } = policy?.limits ?? {};
  return { ...(maxVariables !== undefined && { maxVariables }), ...(maxRoomBytes !== undefined && { maxRoomBytes }) };
}

/**
 * Whether a client's value of `variable` breaks a range rule of the policy (a value that is
 * not a number breaks every range). "increasing" compares with the stored value, so the
 * store must apply it; it is not checked here.
 */
export function breaksRange(policy: ProjectPolicy, variable: string, value: string): boolean {
  const rules = policy.rules;
  if (rules === undefined) return false;
  for (const [entry, rule] of Object.entries(rules)) {
    if ((rule.min === undefined && rule.max === undefined) || !matchesPattern(entry, variable)) continue;
    // The store's reading, so a range and "only increases" agree on what a number is: a
    // decimal number (no hex, spaces or Infinity), a string's mark (a Scratch 3 client's "7") removed.
    const number = valueNumber(value);
    if (number === null) return true;
    if ((rule.min !== undefined && number < rule.min) || (rule.max !== undefined && number > rule.max)) return true;
  }
  return false;
}
