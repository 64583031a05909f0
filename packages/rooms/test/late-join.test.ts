/**
 * A join that lands after its caller gave up (the join deadline) is left again, and a leave
 * that fails is reported rather than dropped (issue 20 item 5), against a store whose replies
 * the test controls.
 */
import { until } from '@cloudvars/test-support/until';
import { describe, expect, it } from 'vitest';
import type { EngineStatusEvent, JoinRequest, JoinResult, Lease } from '../src/ports.ts';
import { EngineGuard } from '../src/redis/guard.ts';
import { joinLeavingLate } from '../src/redis/late-join.ts';
import type { LateJoinStore } from '../src/redis/late-join.ts';

const request: JoinRequest = { room: 'r', connectionId: 'c1', username: 'alice', claimUsername: true, variables: null, address: '203.0.113.9' };
const joined: JoinResult = { ok: true, outcome: 'created', snapshot: { epoch: 'e', seq: 0, variables: [] } };

/** A store whose join answers when the test says so, and whose leave does what `leave` says. */
function slowStore(leave: (request: Lease) => Promise<void>): { store: LateJoinStore; answerJoin(result: JoinResult): void } {
  let answer: (result: JoinResult) => void = () => undefined;
  const store: LateJoinStore = {
    join: () =>
      new Promise<JoinResult>((resolve) => {
        answer = resolve;
      }),
    leave,
  };
  return { store, answerJoin: (result) => answer(result) };
}

describe('a join that lands after its deadline', () => {
  it('is left again, with the username it claimed', async () => {
    const leaves: Lease[] = [];
    const { store, answerJoin } = slowStore(async (leave) => {
      leaves.push(leave);
    });
    const guard = new EngineGuard(5);
    try {
      await expect(joinLeavingLate(store, guard, () => undefined)(request)).rejects.toMatchObject({ code: 'CV_ERR_REDIS_TIMEOUT' });
      answerJoin(joined);
      await until(() => leaves.length === 1, { what: 'the late join left' });
      expect(leaves[0]).toMatchObject({ room: 'r', connectionId: 'c1', address: '203.0.113.9' });
      expect(leaves[0]?.usernameKey).not.toBeNull();
    } finally {
      guard.close();
    }
  });

  it('reports a leave that fails as CV_ERR_LATE_JOIN_LEAVE instead of dropping it', async () => {
    const { store, answerJoin } = slowStore(() => Promise.reject(new Error('connection lost')));
    const statuses: EngineStatusEvent[] = [];
    const guard = new EngineGuard(5);
    try {
      await expect(joinLeavingLate(store, guard, (event) => statuses.push(event))(request)).rejects.toMatchObject({ code: 'CV_ERR_REDIS_TIMEOUT' });
      answerJoin(joined);
      await until(() => statuses.length === 1, { what: 'the failed leave reported' });
      expect(statuses[0]).toMatchObject({ type: 'error', role: 'store', code: 'CV_ERR_LATE_JOIN_LEAVE', error: { message: 'connection lost' } });
    } finally {
      guard.close();
    }
  });

  it('leaves nothing for a join refused late', async () => {
    const leaves: Lease[] = [];
    const { store, answerJoin } = slowStore(async (leave) => {
      leaves.push(leave);
    });
    const guard = new EngineGuard(5);
    try {
      const join = joinLeavingLate(store, guard, () => undefined);
      await expect(join(request)).rejects.toMatchObject({ code: 'CV_ERR_REDIS_TIMEOUT' });
      answerJoin({ ok: false, reason: 'room-full' });
      // A later join that lands in time shows the first one's answer was handled.
      const second = join({ ...request, connectionId: 'c2' });
      answerJoin(joined);
      await expect(second).resolves.toEqual(joined);
      expect(leaves).toEqual([]);
    } finally {
      guard.close();
    }
  });
});
