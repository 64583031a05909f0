/**
 * Joining a room, as one operation: the pod subscribes to the room before the store takes
 * the snapshot (DESIGN.md invariant 2), the store admits the client, and the membership
 * starts from that snapshot. Every way out before the end gives back what was taken: the
 * room's local reference, and the store's lease (a leave is idempotent, so it is sent
 * whenever the store may have admitted the client, even after a timeout).
 */
import { storedText, type Handshake } from '@cloudvars/protocol';
import { toError, type JoinOutcome, type JoinRefusal, type RoomSnapshot } from '@cloudvars/rooms';
import { joinLimits } from '../policy/room-limits.ts';
import { Membership, type MemberHost } from './membership.ts';
import type { SessionContext } from './session-context.ts';

export type JoinAttempt =
  | { readonly kind: 'joined'; readonly membership: Membership; readonly outcome: JoinOutcome; readonly snapshot: RoomSnapshot }
  /** The store refused the client; nothing is held. */
  | { readonly kind: 'refused'; readonly reason: JoinRefusal }
  /** The connection closed while the join was in flight; nothing is held. */
  | { readonly kind: 'abandoned' }
  /** The bus or the store failed; nothing is held (a lease the store may hold is being released). */
  | { readonly kind: 'failed'; readonly error: Error };

export interface JoiningHost extends MemberHost {
  /** False once a close has started from either side: the join must stop and give back. */
  readonly stillJoining: boolean;
}

export async function joinRoom(context: SessionContext, host: JoiningHost, handshake: Handshake): Promise<JoinAttempt> {
  const { hub, engine } = context;
  const membership = hub.enter(handshake.room, (room) => new Membership(host, room, context, handshake.username));
  const room = membership.room;
  const giveBack = (): void => hub.release(room, membership);
  try {
    await room.subscribed;
  } catch (error) {
    giveBack();
    return { kind: 'failed', error: toError(error) };
  }
  if (!host.stillJoining) {
    giveBack();
    return { kind: 'abandoned' };
  }
  // A room this pod already mirrors exists: only a room new to the pod may be created, and
  // that takes one of the address's creations of the minute (given back if it was not one).
  let reserved = false;
  if (room.epoch === null) {
    try {
      reserved = await reserveCreation(context, host.address);
    } catch (error) {
      giveBack();
      return { kind: 'failed', error: toError(error) };
    }
  }
  let result;
  try {
    result = await engine.store.join({
      room: handshake.room,
      connectionId: host.id,
      username: handshake.username,
      claimUsername: host.policy.claimsUsername,
      variables: handshake.variables,
      address: host.address,
      mayCreate: room.epoch !== null || reserved,
      // The project's room capacity, variables and bytes, as its policy is now (none: the engine's).
      ...joinLimits(context.policies.get(handshake.room)),
    });
  } catch (error) {
    // The store may still admit the client after we gave up waiting: take it back. The
    // creation goes back too (if the store did create the room, the address gains one).
    giveBack();
    if (reserved) refundCreation(context, host);
    await leaveQuietly(context, host, membership);
    return { kind: 'failed', error: toError(error) };
  }
  if (reserved && (!result.ok || result.outcome !== 'created')) refundCreation(context, host);
  if (!result.ok) {
    giveBack();
    return { kind: 'refused', reason: result.reason };
  }
  if (!host.stillJoining) {
    giveBack();
    await leaveQuietly(context, host, membership);
    return { kind: 'abandoned' };
  }
  hub.joined(room, result.snapshot);
  const declared = handshake.variables?.map(([name]) => name) ?? null;
  membership.start(result.snapshot, result.outcome === 'created' ? corrections(handshake, result.snapshot) : null, declared);
  return { kind: 'joined', membership, outcome: result.outcome, snapshot: result.snapshot };
}

/**
 * What the client that created the room is sent: the initial values the room does not hold
 * as it sent them, replaced by "0" for being invalid (the parser's `replaced`) or for not
 * fitting the room's byte budget (the store's, docs/PROTOCOL.md "Joining"). Values compare
 * as the 2020 client reads them (the text, without a string's mark): a value it would see
 * unchanged needs no correction, whatever type the store records.
 */
function corrections(handshake: Handshake, snapshot: RoomSnapshot): ReadonlySet<string> {
  const names = new Set(handshake.replaced);
  const sent = new Map((handshake.variables ?? []).map(([name, value]) => [name, storedText(value)]));
  for (const [name, value] of snapshot.variables) if (sent.get(name) !== storedText(value)) names.add(name);
  return names;
}

/** The window of MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE. */
const CREATION_WINDOW_MS = 60_000;

const creationsOf = (address: string): string => `new-rooms:${address}`;

/** Takes one of the address's room creations of the minute; false when none is left. */
async function reserveCreation(context: SessionContext, address: string): Promise<boolean> {
  const hit = await context.engine.counters.hit(creationsOf(address), CREATION_WINDOW_MS, context.config.maxNewRoomsPerAddressPerMinute);
  return hit.allowed;
}

/** Gives back a creation the join did not use; a failure only costs the address one. */
function refundCreation(context: SessionContext, host: JoiningHost): void {
  context.engine.counters.refund(creationsOf(host.address)).catch((error: unknown) => {
    host.log('warn', { err: error }, 'giving back an unused room creation failed');
  });
}

/** Releases the lease a join may have taken; a failure only means it lapses later. */
async function leaveQuietly(context: SessionContext, host: JoiningHost, membership: Membership): Promise<void> {
  try {
    await context.engine.store.leave(membership.lease);
  } catch (error) {
    host.log('error', { err: error, room: membership.room.name }, 'leave after a failed join failed; the lease will lapse');
  }
}
