/** Parsers for Lua replies and channel payloads: parse, don't cast. */
import type { JoinRefusal, RoomEvent, RoomSnapshot, VariableEntry } from '../ports.ts';
import { RedisEngineError } from './errors.ts';

function bad(what: string, reply: unknown): never {
  throw new RedisEngineError('CV_ERR_REDIS_REPLY', `unexpected ${what} reply: ${JSON.stringify(reply)}`);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function toInt(value: unknown, what: string, reply: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) bad(what, reply);
  return n;
}

function pairs(items: readonly unknown[], what: string, reply: unknown): VariableEntry[] {
  if (items.length % 2 !== 0) bad(what, reply);
  const out: VariableEntry[] = [];
  for (let i = 0; i < items.length; i += 2) {
    const name = items[i];
    const value = items[i + 1];
    if (!isString(name) || !isString(value)) bad(what, reply);
    out.push([name, value]);
  }
  return out;
}

/** `{epoch, seq, name, value, ...}` -> snapshot */
export function parseSnapshotTail(items: readonly unknown[], what: string, reply: unknown): RoomSnapshot {
  const [epoch, seq, ...rest] = items;
  if (!isString(epoch)) bad(what, reply);
  return { epoch, seq: toInt(seq, what, reply), variables: pairs(rest, what, reply) };
}

export function parseSnapshot(reply: unknown): RoomSnapshot | null {
  if (reply === null) return null;
  if (!Array.isArray(reply)) bad('snapshot', reply);
  return parseSnapshotTail(reply, 'snapshot', reply);
}

const REFUSALS: ReadonlySet<string> = new Set<JoinRefusal>([
  'username-taken',
  'room-full',
  'too-many-rooms',
  'address-limit',
  'variables-mismatch',
]);

const OUTCOMES: ReadonlySet<string> = new Set(['created', 'joined', 'migrated']);

export type JoinReply =
  | { readonly ok: true; readonly outcome: 'created' | 'joined' | 'migrated'; readonly snapshot: RoomSnapshot }
  | { readonly ok: false; readonly reason: JoinRefusal; readonly live: number };

function isRefusal(value: unknown): value is JoinRefusal {
  return isString(value) && REFUSALS.has(value);
}

function isOutcome(value: unknown): value is 'created' | 'joined' | 'migrated' {
  return isString(value) && OUTCOMES.has(value);
}

export function parseJoin(reply: unknown): JoinReply {
  if (!Array.isArray(reply)) bad('join', reply);
  const [status, second, ...rest] = reply as unknown[];
  if (status === 'no' && isRefusal(second)) return { ok: false, reason: second, live: toInt(rest[0], 'join', reply) };
  if (status === 'ok' && isOutcome(second)) {
    return { ok: true, outcome: second, snapshot: parseSnapshotTail(rest, 'join', reply) };
  }
  return bad('join', reply);
}

/** Channel payload `[epoch, seq, origin, variable, value]` (set.lua) -> event, or null if malformed. */
export function parseEventPayload(room: string, payload: string): RoomEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch {
    return null;
  }
  if (!Array.isArray(data) || data.length !== 5) return null;
  const [epoch, seq, origin, variable, value] = data as unknown[];
  if (!isString(epoch) || !isString(origin) || !isString(variable) || !isString(value)) return null;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) return null;
  return { room, epoch, seq, origin, variable, value };
}

export function parseIntReply(reply: unknown, what: string): number {
  return toInt(reply, what, reply);
}

/** `{n1, n2}` integer pairs from leave.lua and set.lua. */
export function parseTuple(reply: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(reply)) bad(what, reply);
  return reply as unknown[];
}
