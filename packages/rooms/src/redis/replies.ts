/**
 * One parser per Lua script's reply, and the channel payload's: parse, don't cast. Each
 * returns a typed value or throws CV_ERR_REDIS_REPLY naming the script (a reply of another
 * shape means the scripts and this code disagree: version skew).
 */
import type {
  Ban,
  ChangeRefusal,
  ChangeResult,
  JoinOutcome,
  JoinRefusal,
  LogEntry,
  RoomAction,
  RoomActionResult,
  RoomEvent,
  RoomSnapshot,
  SetResult,
  VariableEntry,
} from '../ports.ts';
import { isRoomAction } from '../actions.ts';
import { RoomEngineError } from '../errors.ts';
import { parseBanMember } from '../moderation.ts';

function bad(script: string, reply: unknown): never {
  throw new RoomEngineError('CV_ERR_REDIS_REPLY', `unexpected ${script} reply: ${JSON.stringify(reply)}`);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function toInt(value: unknown, script: string, reply: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) bad(script, reply);
  return n;
}

function list(reply: unknown, script: string): readonly unknown[] {
  if (!Array.isArray(reply)) bad(script, reply);
  return reply as unknown[];
}

function pairs(items: readonly unknown[], script: string, reply: unknown): VariableEntry[] {
  if (items.length % 2 !== 0) bad(script, reply);
  const out: VariableEntry[] = [];
  for (let i = 0; i < items.length; i += 2) {
    const name = items[i];
    const value = items[i + 1];
    if (!isString(name) || !isString(value)) bad(script, reply);
    out.push([name, value]);
  }
  return out;
}

/** `{epoch, seq, name, value, ...}` -> snapshot */
function snapshotOf(items: readonly unknown[], script: string, reply: unknown): RoomSnapshot {
  const [epoch, seq, ...rest] = items;
  if (!isString(epoch)) bad(script, reply);
  return { epoch, seq: toInt(seq, script, reply), variables: pairs(rest, script, reply) };
}

const REFUSALS: ReadonlySet<string> = new Set<JoinRefusal>([
  'username-taken',
  'room-full',
  'too-many-rooms',
  'address-limit',
  'variables-mismatch',
  'room-creation-limit',
  'over-budget',
  'too-many-variables',
  'address-bytes',
]);

const OUTCOMES: ReadonlySet<string> = new Set<JoinOutcome>(['created', 'joined', 'migrated', 'extended']);

export type JoinReply =
  /** `charge`: what to charge the joiner's address (what a 2020 join stored; stored-bytes.ts). */
  | { readonly ok: true; readonly outcome: JoinOutcome; readonly snapshot: RoomSnapshot; readonly charge: number }
  | { readonly ok: false; readonly reason: JoinRefusal; readonly live: number };

function isRefusal(value: unknown): value is JoinRefusal {
  return isString(value) && REFUSALS.has(value);
}

function isOutcome(value: unknown): value is JoinOutcome {
  return isString(value) && OUTCOMES.has(value);
}

/** join.lua: `{'ok', outcome, epoch, seq, charge, name, value, ...}` or `{'no', reason, live members}`. */
export function parseJoinReply(reply: unknown): JoinReply {
  const [status, second, ...rest] = list(reply, 'join');
  if (status === 'no' && isRefusal(second)) return { ok: false, reason: second, live: toInt(rest[0], 'join', reply) };
  if (status === 'ok' && isOutcome(second)) {
    const [epoch, seq, charge, ...pairs] = rest;
    return { ok: true, outcome: second, snapshot: snapshotOf([epoch, seq, ...pairs], 'join', reply), charge: toInt(charge, 'join', reply) };
  }
  return bad('join', reply);
}

const CHANGE_REFUSALS: ReadonlySet<string> = new Set<ChangeRefusal>([
  'unknown-room',
  'unknown-variable',
  'too-many-variables',
  'over-budget',
  'name-taken',
  'not-increasing',
  'address-bytes',
]);

/** set.lua, rename.lua, delete.lua: `{1, seq}` or `{0, reason}`. */
function parseChange(reply: unknown, script: string): ChangeResult {
  const [status, detail] = list(reply, script);
  if (status === 1) return { ok: true, seq: toInt(detail, script, reply) };
  if (status === 0 && isString(detail) && CHANGE_REFUSALS.has(detail)) return { ok: false, reason: detail as ChangeRefusal };
  return bad(script, reply);
}

/** set.lua's answer: each set's SetResult in order, and what to charge the setter's address for them (stored-bytes.ts). */
export type SetReply = { readonly results: readonly SetResult[]; readonly charge: number };

export function parseSetReply(reply: unknown): SetReply {
  const [charge, ...each] = list(reply, 'set');
  const results = each.map((item): SetResult => {
    if (typeof item === 'number') return { ok: true, seq: toInt(item, 'set', reply) };
    if (isString(item) && item !== 'name-taken' && CHANGE_REFUSALS.has(item)) return { ok: false, reason: item as Exclude<ChangeRefusal, 'name-taken'> };
    return bad('set', reply);
  });
  return { results, charge: toInt(charge, 'set', reply) };
}

/** ledger.lua: the address's total. */
export function parseLedgerReply(reply: unknown): number {
  return toInt(reply, 'ledger', reply);
}

/** rename.lua's answer: a ChangeResult, and when applied what to charge the renamer's address. */
export type RenameReply = { readonly result: ChangeResult; readonly charge: number };

export function parseRenameReply(reply: unknown): RenameReply {
  const result = parseChange(reply, 'rename');
  return { result, charge: result.ok ? toInt(list(reply, 'rename')[2], 'rename', reply) : 0 };
}

export function parseDeleteReply(reply: unknown): ChangeResult {
  return parseChange(reply, 'delete');
}

/** leave.lua: `{removed (1/0), live members left}` -> the live members left. */
/** leave.lua: `{removed (1/0), live members left, now}`. */
export function parseLeaveReply(reply: unknown): { readonly live: number; readonly at: number } {
  const [removed, live, at] = list(reply, 'leave');
  if (removed !== 0 && removed !== 1) bad('leave', reply);
  return { live: toInt(live, 'leave', reply), at: toInt(at, 'leave', reply) };
}

/** lease-release.lua: 1 given back, 0 kept. */
export function parseLeaseReleaseReply(reply: unknown): boolean {
  if (reply !== 0 && reply !== 1) bad('lease-release', reply);
  return reply === 1;
}

/** renew.lua: the connection ids whose lease could not be extended. */
export function parseRenewReply(reply: unknown): readonly string[] {
  const ids = list(reply, 'renew');
  if (!ids.every(isString)) bad('renew', reply);
  return ids as readonly string[];
}

/** snapshot.lua: false (nil) when the room does not exist, else `{epoch, seq, name, value, ...}`. */
export function parseSnapshotReply(reply: unknown): RoomSnapshot | null {
  if (reply === null) return null;
  return snapshotOf(list(reply, 'snapshot'), 'snapshot', reply);
}

/** members.lua: the count of live members. */
export function parseMembersReply(reply: unknown): number {
  return toInt(reply, 'members', reply);
}

/** lease-acquire.lua: `{status, expiry}`: 2 already held (refreshed), 1 newly taken, 0 refused; the expiry it set (ms). */
export interface LeaseAcquired {
  readonly status: 0 | 1 | 2;
  readonly expiry: number;
}

export function parseLeaseAcquireReply(reply: unknown): LeaseAcquired {
  const [status, expiry] = list(reply, 'lease-acquire');
  return lease(status, expiry, 'lease-acquire', reply);
}

/** One lease as acquire_lease answers it (lua/lease-prelude.lua). */
function lease(status: unknown, expiry: unknown, script: string, reply: unknown): LeaseAcquired {
  if (status !== 0 && status !== 1 && status !== 2) bad(script, reply);
  return { status, expiry: toInt(expiry, script, reply) };
}

/** join-leases.lua: the join's refusal by a ban or the block list (null: none), and its two leases (both refused when barred). */
export function parseJoinLeasesReply(reply: unknown): {
  readonly barred: JoinRefusal | null;
  readonly roomSlot: LeaseAcquired;
  readonly addressSlot: LeaseAcquired;
} {
  const [refusal, roomStatus, roomExpiry, addressStatus, addressExpiry] = list(reply, 'join-leases');
  if (refusal !== '' && !(isString(refusal) && BARRED.has(refusal))) bad('join-leases', reply);
  return {
    barred: refusal === '' ? null : (refusal as JoinRefusal),
    roomSlot: lease(roomStatus, roomExpiry, 'join-leases', reply),
    addressSlot: lease(addressStatus, addressExpiry, 'join-leases', reply),
  };
}

/** lease-renew.lua: always 1. */
export function parseLeaseRenewReply(reply: unknown): void {
  if (reply !== 1) bad('lease-renew', reply);
}

/** refund.lua: always 1. */
export function parseRefundReply(reply: unknown): void {
  if (reply !== 1) bad('refund', reply);
}

/** hit.lua: `{count, ms until the window ends}`. */
export function parseHitReply(reply: unknown): { readonly count: number; readonly resetInMs: number } {
  const [count, resetInMs] = list(reply, 'hit');
  return { count: toInt(count, 'hit', reply), resetInMs: toInt(resetInMs, 'hit', reply) };
}

const LOG_VERBS: ReadonlySet<string> = new Set<LogEntry['verb']>(['set', 'rename', 'delete']);

/** log.lua: false (nil) when the room does not exist, else `{user, verb, name, value, time, ...}` newest first. */
export function parseLogReply(reply: unknown): LogEntry[] | null {
  if (reply === null) return null;
  const items = list(reply, 'log');
  if (items.length % 5 !== 0) bad('log', reply);
  const entries: LogEntry[] = [];
  for (let i = 0; i < items.length; i += 5) {
    const [user, verb, name, value, time] = items.slice(i, i + 5);
    if (!isString(user) || !isString(verb) || !LOG_VERBS.has(verb) || !isString(name) || !isString(value)) bad('log', reply);
    entries.push({ user, verb: verb as LogEntry['verb'], name, value, timestamp: toInt(time, 'log', reply) });
  }
  return entries;
}

/** delete-room.lua, kick.lua: `{1, seq}` or `{0, 'unknown-room'}`. */
export function parseRoomActionReply(reply: unknown): RoomActionResult {
  const [status, detail] = list(reply, 'room action');
  if (status === 1) return { ok: true, seq: toInt(detail, 'room action', reply) };
  if (status === 0 && detail === 'unknown-room') return { ok: false, reason: 'unknown-room' };
  return bad('room action', reply);
}

const BARRED: ReadonlySet<string> = new Set<JoinRefusal>(['banned-username', 'banned-address', 'blocked-username']);

/** ban-check.lua: the refusal, or '' when the join may go on. */
export function parseBanCheckReply(reply: unknown): JoinRefusal | null {
  if (reply === '') return null;
  if (isString(reply) && BARRED.has(reply)) return reply as JoinRefusal;
  return bad('ban-check', reply);
}

/** ban.lua: `{1, created, expires}` or `{0}` (the list is full). */
export function parseBanReply(reply: unknown): { readonly createdAt: number; readonly expiresAt: number } | null {
  const [status, created, expires] = list(reply, 'ban');
  if (status === 0) return null;
  if (status !== 1) bad('ban', reply);
  return { createdAt: toInt(created, 'ban', reply), expiresAt: toInt(expires, 'ban', reply) };
}

/** unban.lua: 1 when a live ban was lifted, else 0. */
export function parseUnbanReply(reply: unknown): boolean {
  if (reply !== 0 && reply !== 1) bad('unban', reply);
  return reply === 1;
}

/** The ban info JSON `[by, reason, created]`; a missing or odd one reads as unknown. */
function banInfo(text: string): { by: string; reason: string; createdAt: number } {
  try {
    const data: unknown = JSON.parse(text);
    if (Array.isArray(data) && isString(data[0]) && isString(data[1]) && typeof data[2] === 'number') {
      return { by: data[0], reason: data[1], createdAt: data[2] };
    }
  } catch {
    // Written by ban.lua only; anything else reads as unknown, below.
  }
  return { by: '', reason: '', createdAt: 0 };
}

/** bans.lua: `{member, expiry, info JSON, ...}` soonest expiry first. */
export function parseBansReply(reply: unknown): Ban[] {
  const items = list(reply, 'bans');
  if (items.length % 3 !== 0) bad('bans', reply);
  const bans: Ban[] = [];
  for (let i = 0; i < items.length; i += 3) {
    const [member, expiry, info] = items.slice(i, i + 3);
    if (!isString(member) || !isString(info)) bad('bans', reply);
    const target = parseBanMember(member);
    if (target === null) bad('bans', reply);
    bans.push({ ...target, ...banInfo(info), expiresAt: toInt(expiry, 'bans', reply) });
  }
  return bans;
}

/** block-word.lua: 1 changed, 0 unchanged, -1 the list is full. */
export function parseBlockWordReply(reply: unknown): -1 | 0 | 1 {
  if (reply !== -1 && reply !== 0 && reply !== 1) bad('block-word', reply);
  return reply;
}

/**
 * Channel payload -> event, or null if malformed. A set is `[epoch, seq, origin, variable,
 * value]` (set.lua: the common event, kept short); a rename `[..., variable, new name,
 * 'rename']` and a delete `[..., variable, '', 'delete']` (rename.lua, delete.lua); a kick
 * `[..., username, '', 'kick']` (kick.lua) and a room deletion `[..., '', '', 'room-deleted']`
 * (delete-room.lua).
 */
/** The actions list's payloads (keep_action in prelude.lua: as published) -> actions; throws on anything else. */
export function parseActions(room: string, payloads: readonly string[]): RoomAction[] {
  return payloads.map((payload) => {
    const event = parseEventPayload(room, payload);
    if (event === null || !isRoomAction(event)) bad('actions', payload);
    return event;
  });
}

export function parseEventPayload(room: string, payload: string): RoomEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch {
    return null;
  }
  return eventOf(room, data);
}

/**
 * A channel payload -> its events in order, or null if malformed: one event's payload, or a
 * list of several set payloads (set.lua publishes a batch of sets, RoomStore.setMany, as one).
 */
export function parseEventPayloads(room: string, payload: string): RoomEvent[] | null {
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch {
    return null;
  }
  if (!Array.isArray(data) || !Array.isArray(data[0])) {
    const event = eventOf(room, data);
    return event === null ? null : [event];
  }
  const events: RoomEvent[] = [];
  for (const item of data as unknown[]) {
    const event = eventOf(room, item);
    if (event === null || event.type !== 'set') return null;
    events.push(event);
  }
  return events;
}

function eventOf(room: string, data: unknown): RoomEvent | null {
  if (!Array.isArray(data) || (data.length !== 5 && data.length !== 6)) return null;
  const [epoch, seq, origin, variable, detail, type] = data as unknown[];
  if (!isString(epoch) || !isString(origin) || !isString(variable) || !isString(detail)) return null;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) return null;
  if (data.length === 5) return { type: 'set', room, epoch, seq, origin, variable, value: detail };
  if (type === 'rename') return { type: 'rename', room, epoch, seq, origin, variable, newName: detail };
  if (type === 'delete') return { type: 'delete', room, epoch, seq, origin, variable };
  if (type === 'kick') return { type: 'kick', room, epoch, seq, origin, username: variable };
  if (type === 'room-deleted') return { type: 'room-deleted', room, epoch, seq, origin };
  return null;
}
