/**
 * The global limits a project's policy replaces for its room (issue 22), each where it is
 * judged: what a value may be (text, its length) and how many variables a 2020 handshake
 * may declare, where clients' frames are parsed; the room's capacity, variables and bytes,
 * by the store at a join (JoinRequest) and at a set (storeChecks in policy.ts); the sets
 * per second, by each connection's rate bucket. A room without a policy, or whose policy
 * changes none of them, gets the global objects themselves: no copy, no extra work.
 */
import { parseHandshakeFrame, type HandshakeFrame, type ProtocolError, type ProtocolLimits, type Result } from '@cloudvars/protocol';
import type { Config } from '../config.ts';
import type { PolicyBook } from './policy-book.ts';
import { POLICY_CEILINGS, roomBudget, type ProjectPolicy } from './policy.ts';

/** The protocol limits made for each policy (frozen, replaced whole on a change), with the global ones they were made from. */
const madeFor = new WeakMap<ProjectPolicy, { readonly global: ProtocolLimits; readonly limits: ProtocolLimits }>();

/**
 * The protocol limits the room's clients are parsed by: the global ones, with the policy's
 * `textValues` (any text, or numbers only, whatever ALLOW_TEXT_VALUES says),
 * `limits.maxValueLength` and `limits.maxVariables` over them.
 */
export function roomProtocolLimits(global: ProtocolLimits, policy: ProjectPolicy | null): ProtocolLimits {
  if (policy === null) return global;
  const { maxValueLength, maxVariables } = policy.limits ?? {};
  if (policy.textValues === undefined && maxValueLength === undefined && maxVariables === undefined) return global;
  const made = madeFor.get(policy);
  if (made !== undefined && made.global === global) return made.limits;
  const limits: ProtocolLimits = Object.freeze({
    ...global,
    ...(policy.textValues !== undefined && { allowTextValues: policy.textValues }),
    ...(maxValueLength !== undefined && { maxValueLength }),
    ...(maxVariables !== undefined && { maxVariables }),
  });
  madeFor.set(policy, { global, limits });
  return limits;
}

/**
 * What a room's clients are held to on this pod, as its project policy says now: the policy
 * (null: none) and the protocol limits made from it. The pod's room (hub/room-hub.ts) keeps
 * them, so that a joined client's frames and sets read fields instead of asking the policy
 * book: the join sets them as it enters the room, and every change of the book's policy for
 * the room replaces them in the same turn (policy/enforce.ts).
 */
export interface RoomRules {
  readonly policy: ProjectPolicy | null;
  readonly limits: ProtocolLimits;
}

/** The room's rules under `policy` (null: the global limits, as for a room without one). */
export function roomRules(global: ProtocolLimits, policy: ProjectPolicy | null): RoomRules {
  return { policy, limits: roomProtocolLimits(global, policy) };
}

/** The widest limits of each global ones: what any policy may grant. */
const widest = new WeakMap<ProtocolLimits, ProtocolLimits>();

function widestOf(global: ProtocolLimits): ProtocolLimits {
  let limits = widest.get(global);
  if (limits === undefined) {
    limits = Object.freeze({ ...global, allowTextValues: true, maxValueLength: POLICY_CEILINGS.maxValueLength, maxVariables: POLICY_CEILINGS.maxVariables });
    widest.set(global, limits);
  }
  return limits;
}

/**
 * A first frame parsed by the limits of the room it names. The room is only known once the
 * frame is read, so while any policy exists it is read first by the widest limits a policy
 * may grant (what fails there fails under any policy: only the variables' count and which
 * values are valid differ), then again by the room's when they are not the global ones.
 * Without any policy it is one parse, by the global limits, as before policies.
 */
export function parseHandshakeForRoom(text: string, global: ProtocolLimits, book: PolicyBook): Result<HandshakeFrame, ProtocolError> {
  if (!book.holdsAny) return parseHandshakeFrame(text, global);
  const first = parseHandshakeFrame(text, widestOf(global));
  if (!first.ok) return first;
  return parseHandshakeFrame(text, roomProtocolLimits(global, book.get(first.value.handshake.room)));
}

/** What a join asks of the store instead of the engine's limits (JoinRequest): the policy's room capacity, variables and bytes. */
export function joinLimits(policy: ProjectPolicy | null): { maxClientsPerRoom?: number; maxVariables?: number; maxRoomBytes?: number } {
  const maxClientsPerRoom = policy?.limits?.maxClientsPerRoom;
  return { ...(maxClientsPerRoom !== undefined && { maxClientsPerRoom }), ...roomBudget(policy) };
}

/** A connection's set rate: sustained per second, and how many at once. */
export interface SetRate {
  readonly perSecond: number;
  readonly burst: number;
}

/** The global rate of each config, one object for every connection. */
const globalRates = new WeakMap<Config, SetRate>();

/**
 * The room's set rate per connection: the global one (RATE_LIMIT_PER_SECOND,
 * RATE_LIMIT_BURST), or the policy's `limits.setsPerSecond` with a burst in the same
 * proportion to it as RATE_LIMIT_BURST is to RATE_LIMIT_PER_SECOND (one second's worth by
 * default), at least 1.
 */
export function setRate(config: Config, policy: ProjectPolicy | null): SetRate {
  const perSecond = policy?.limits?.setsPerSecond;
  if (perSecond !== undefined) return { perSecond, burst: Math.max(1, Math.round((config.rateLimitBurst * perSecond) / config.rateLimitPerSecond)) };
  let rate = globalRates.get(config);
  if (rate === undefined) {
    rate = Object.freeze({ perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst });
    globalRates.set(config, rate);
  }
  return rate;
}
