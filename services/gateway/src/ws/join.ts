/**
 * Joining a room, as one operation, from the handshake to the client's view started: the
 * project's policy and the handshake hook may refuse it; the pod subscribes to the room
 * before the store takes the snapshot (DESIGN.md invariant 2), the store admits the client,
 * and the view starts from that snapshot. Every way out before the end gives back what was
 * taken: the room's local reference, and the store's lease (a leave is idempotent, so it is
 * sent whenever the store may have admitted the client, even after a timeout). A refusal
 * closes the client with its code here, counted and logged.
 */
import { CloseCode, storedText, type Dialect, type Handshake } from '@cloudvars/protocol';
import { toError, type JoinOutcome, type JoinRefusal, type RoomSnapshot } from '@cloudvars/rooms';
import type { Visitor } from '../hook/handshake-hook.ts';
import { blockingPolicy } from '../policy/enforce.ts';
import { joinLimits, roomRules } from '../policy/room-limits.ts';
import type { ClientPolicy } from './client-policy.ts';
import type { ClientServices } from './client-services.ts';
import type { ClientSocket } from './client-socket.ts';
import type { HeldMessages } from './held-messages.ts';
import { MemberView } from './member-view.ts';
import type { Outbox } from './outbox.ts';
import type { TokenBucket } from './token-bucket.ts';

/**
 * What each refusal closes with (README "close codes": what today's clients then do).
 * Overloaded (4003) is the 2020 dialects' code: today's clients get 1013 instead (refusalCode).
 */
const REFUSAL_CODES: Record<JoinRefusal, number> = {
  // Like USERNAME_BLOCKLIST: the name is the problem; TurboWarp asks its user for another.
  'banned-username': CloseCode.Username,
  'blocked-username': CloseCode.Username,
  // The one code every client of today stops on: nothing it can change gets it in.
  'banned-address': CloseCode.ProjectUnavailable,
  'username-taken': CloseCode.Username,
  'room-full': CloseCode.Overloaded,
  'too-many-rooms': CloseCode.Overloaded,
  'address-limit': CloseCode.Overloaded,
  'variables-mismatch': CloseCode.Incompatibility,
  'room-creation-limit': CloseCode.Overloaded,
  // A 2020 handshake whose names the room cannot hold (MAX_ROOM_BYTES, MAX_VARIABLES): the spec's "room is full".
  'over-budget': CloseCode.Overloaded,
  'too-many-variables': CloseCode.Overloaded,
  // A 2020 handshake whose values would grow a room past its address's MAX_STORED_BYTES_PER_ADDRESS (only 2020 joins store any).
  'address-bytes': CloseCode.Overloaded,
};

/** A transient refusal closes with the dialect's "try again later" (ClientPolicy.retryLaterCode). */
function refusalCode(reason: JoinRefusal, policy: ClientPolicy): number {
  const code = REFUSAL_CODES[reason];
  return code === CloseCode.Overloaded ? policy.retryLaterCode : code;
}

/** The client that joins, as its session made it at the handshake. */
export interface Joiner {
  readonly client: ClientSocket;
  readonly outbox: Outbox;
  readonly dialect: Dialect;
  readonly policy: ClientPolicy;
  /** A 2020 client's frame-rate bucket, which a project's set rate retunes; null for today's clients (their frames are paced). */
  readonly frameRate: TokenBucket | null;
  /** What the client sends meanwhile: messages held still count after a close. */
  readonly held: HeldMessages;
  /** The upgrade's headers the handshake hook is told; null when there is no hook. */
  readonly visitor: Visitor | null;
}

/**
 * True while the join may go on: no close has started from either side, or the client sent
 * messages before the close that still count (they are applied, then it leaves).
 */
function stillJoining(joiner: Joiner): boolean {
  return joiner.held.size > 0 || joiner.client.isOpen;
}

type JoinAttempt =
  | { readonly kind: 'joined'; readonly view: MemberView; readonly outcome: JoinOutcome; readonly snapshot: RoomSnapshot }
  /** The store refused the client; nothing is held. */
  | { readonly kind: 'refused'; readonly reason: JoinRefusal }
  /** The connection closed while the join was in flight; nothing is held. */
  | { readonly kind: 'abandoned' }
  /** The bus or the store failed; nothing is held (a lease the store may hold is being released). */
  | { readonly kind: 'failed'; readonly error: Error };

/**
 * Joins `asked`'s room: the client's view once the store admitted it (events reach it from
 * then on), or null when the client was refused (and is being closed) or left meanwhile.
 */
export async function join(services: ClientServices, joiner: Joiner, asked: Handshake): Promise<MemberView | null> {
  const { metrics } = services;
  const { client } = joiner;
  const room = asked.room;
  // Checked right before the join enters the room: a block made later closes it there (policy/enforce.ts).
  const block = await blockingPolicy(services.policies, room);
  if (block !== null) {
    metrics.joins.inc({ outcome: 'project-blocked' });
    client.log(
      'info',
      { room, code: CloseCode.ProjectUnavailable, reason: 'project-blocked', policyReason: block.reason ?? '' },
      'refusing join: project blocked',
    );
    client.close(CloseCode.ProjectUnavailable, 'project-blocked');
    return null;
  }
  const handshake = await askHook(services, joiner, asked);
  if (handshake === null) return null;
  const attempt = await joinRoom(services, joiner, handshake);
  switch (attempt.kind) {
    case 'refused':
      metrics.joins.inc({ outcome: attempt.reason });
      client.closeForMisbehaviour(refusalCode(attempt.reason, joiner.policy), attempt.reason);
      return null;
    case 'failed':
      metrics.joins.inc({ outcome: 'failed' });
      client.log('error', { err: attempt.error, room }, 'join failed');
      client.close(CloseCode.InternalError, 'join-failed');
      return null;
    case 'abandoned':
      return null;
    case 'joined':
      break;
  }
  metrics.joins.inc({ outcome: attempt.outcome });
  client.log('info', { room, username: handshake.username, dialect: joiner.dialect.name, outcome: attempt.outcome, seq: attempt.snapshot.seq }, 'joined');
  return attempt.view;
}

/**
 * The handshake hook's verdict (hook/handshake-hook.ts): the handshake to join with (the
 * user possibly renamed), or null when the client was refused or left meanwhile. The hook's
 * 4002 and 4004 mean in every dialect what the server's own do (docs/PROTOCOL.md): a name
 * to change, a project the client may not use.
 */
async function askHook(services: ClientServices, joiner: Joiner, handshake: Handshake): Promise<Handshake | null> {
  const { hook } = services;
  if (hook === null) return handshake;
  const { client, dialect, visitor } = joiner;
  const request = hook.request(
    { project: handshake.room, user: handshake.username, dialect: dialect.name, userAgent: visitor?.userAgent ?? '', origin: visitor?.origin ?? '' },
    client.address,
  );
  const verdict = await hook.decide(request, dialect);
  if (!stillJoining(joiner)) return null;
  if (!verdict.admit) {
    services.metrics.joins.inc({ outcome: verdict.reason });
    client.log(
      'info',
      { room: handshake.room, username: handshake.username, code: verdict.code, reason: verdict.reason, hookReason: verdict.hookReason },
      'refusing join: handshake hook',
    );
    client.close(verdict.code, verdict.reason);
    return null;
  }
  if (verdict.user === handshake.username) return handshake;
  client.log('info', { room: handshake.room, username: handshake.username, renamedTo: verdict.user }, 'handshake hook renamed the user');
  return { ...handshake, username: verdict.user };
}

async function joinRoom(services: ClientServices, joiner: Joiner, handshake: Handshake): Promise<JoinAttempt> {
  const { hub, engine } = services;
  const { client } = joiner;
  // The room's rules as the book has them now; each later change of its policy replaces them (policy/enforce.ts).
  const rules = roomRules(services.protocolLimits, services.policies.get(handshake.room));
  const view = hub.enter(
    handshake.room,
    (room) => new MemberView(client, room, joiner.outbox, joiner.dialect, joiner.policy, joiner.frameRate, handshake.username, services),
    rules,
  );
  const room = view.room;
  const giveBack = (): void => hub.release(room, view);
  try {
    await room.subscribed;
  } catch (error) {
    giveBack();
    return { kind: 'failed', error: toError(error) };
  }
  if (!stillJoining(joiner)) {
    giveBack();
    return { kind: 'abandoned' };
  }
  // A room this pod already mirrors exists: only a room new to the pod may be created, and
  // that takes one of the address's creations of the minute (given back if it was not one).
  let reserved = false;
  if (room.epoch === null) {
    try {
      reserved = await reserveCreation(services, client.address);
    } catch (error) {
      giveBack();
      return { kind: 'failed', error: toError(error) };
    }
  }
  let result;
  try {
    result = await engine.store.join({
      room: handshake.room,
      connectionId: client.id,
      username: handshake.username,
      claimUsername: joiner.policy.claimsUsername,
      variables: handshake.variables,
      address: client.address,
      mayCreate: room.epoch !== null || reserved,
      // The project's room capacity, variables and bytes, as its policy is now (none: the engine's).
      ...joinLimits(room.rules.policy),
    });
  } catch (error) {
    // The store may still admit the client after we gave up waiting: take it back. The
    // creation goes back too (if the store did create the room, the address gains one).
    giveBack();
    if (reserved) refundCreation(services, client);
    await leaveQuietly(services, view);
    return { kind: 'failed', error: toError(error) };
  }
  if (reserved && (!result.ok || result.outcome !== 'created')) refundCreation(services, client);
  if (!result.ok) {
    giveBack();
    return { kind: 'refused', reason: result.reason };
  }
  if (!stillJoining(joiner)) {
    giveBack();
    await leaveQuietly(services, view);
    return { kind: 'abandoned' };
  }
  hub.joined(room, result.snapshot);
  const declared = handshake.variables?.map(([name]) => name) ?? null;
  view.start(result.snapshot, result.outcome === 'created' ? corrections(handshake, result.snapshot) : null, declared);
  return { kind: 'joined', view, outcome: result.outcome, snapshot: result.snapshot };
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
async function reserveCreation(services: ClientServices, address: string): Promise<boolean> {
  const hit = await services.engine.counters.hit(creationsOf(address), CREATION_WINDOW_MS, services.config.maxNewRoomsPerAddressPerMinute);
  return hit.allowed;
}

/** Gives back a creation the join did not use; a failure only costs the address one. */
function refundCreation(services: ClientServices, client: ClientSocket): void {
  services.engine.counters.refund(creationsOf(client.address)).catch((error: unknown) => {
    client.log('warn', { err: error }, 'giving back an unused room creation failed');
  });
}

/** Releases the lease a join may have taken; a failure only means it lapses later. */
async function leaveQuietly(services: ClientServices, view: MemberView): Promise<void> {
  try {
    await services.engine.store.leave(view.lease);
  } catch (error) {
    view.client.log('error', { err: error, room: view.room.name }, 'leave after a failed join failed; the lease will lapse');
  }
}
