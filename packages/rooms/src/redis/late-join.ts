/**
 * A join its caller gave up on (the deadline) may still be carried out: a Cluster's offline
 * queue holds its scripts with no command timeout, and the caller's leave may be sent before
 * them. A join that lands after all is left here, or its lease would hold a place, and a
 * claimed username (4002 to the client's reconnect), until it lapsed.
 */
import { usernameKey } from '../moderation.ts';
import type { EngineStatusListener, JoinRequest, JoinResult, RoomStore } from '../ports.ts';
import { toError } from '../errors.ts';
import type { EngineGuard } from './guard.ts';

/** The two store calls a late join needs. */
export type LateJoinStore = Pick<RoomStore, 'join' | 'leave'>;

/** `store.join`, guarded and bounded by the join deadline, leaving a join that lands late. */
export function joinLeavingLate(store: LateJoinStore, guard: EngineGuard, report: EngineStatusListener): RoomStore['join'] {
  return function join(request: JoinRequest): Promise<JoinResult> {
    let attempt: Promise<JoinResult> | null = null;
    const bounded = guard.guarded('join', (r: JoinRequest) => (attempt = store.join(r)), guard.joins)(request);
    bounded.catch(() => {
      // Only a late success is left. A join that failed after all: its caller already has an
      // error, and a lease it may have taken (the reply lost, not the script) lapses.
      attempt?.then(
        (result) => (result.ok ? leaveLate(store, request, report) : undefined),
        () => undefined,
      );
    });
    return bounded;
  };
}

async function leaveLate(store: LateJoinStore, request: JoinRequest, report: EngineStatusListener): Promise<void> {
  const claimed = request.claimUsername ? usernameKey(request.username) : null;
  try {
    await store.leave({ room: request.room, connectionId: request.connectionId, address: request.address, usernameKey: claimed });
  } catch (error) {
    // The lease lapses on its own, holding its place (and username) until then: worth a line.
    report({ type: 'error', role: 'store', code: 'CV_ERR_LATE_JOIN_LEAVE', error: toError(error) });
  }
}
