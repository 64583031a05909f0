/**
 * The limits a policy replaces for its room (policy/room-limits.ts): a room whose policy
 * changes none of them is judged by the global objects themselves (a policy-free set costs
 * nothing more), and one that does gets one object per policy, not one per frame.
 */
import { DEFAULT_LIMITS } from '@cloudvars/protocol';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import type { ProjectPolicy } from '../src/policy/policy.ts';
import { joinLimits, roomProtocolLimits, setRate } from '../src/policy/room-limits.ts';

describe("a room's limits under its policy", () => {
  it('are the global protocol limits themselves without a policy, or with one that changes none of them', () => {
    expect(roomProtocolLimits(DEFAULT_LIMITS, null)).toBe(DEFAULT_LIMITS);
    expect(roomProtocolLimits(DEFAULT_LIMITS, { frozen: true, limits: { maxRoomBytes: 10 } })).toBe(DEFAULT_LIMITS);
  });

  it("take the policy's textValues, maxValueLength and maxVariables, one object per policy", () => {
    const policy: ProjectPolicy = { textValues: true, limits: { maxValueLength: 7, maxVariables: 3 } };
    const limits = roomProtocolLimits(DEFAULT_LIMITS, policy);
    expect(limits).toEqual({ ...DEFAULT_LIMITS, allowTextValues: true, maxValueLength: 7, maxVariables: 3 });
    expect(roomProtocolLimits(DEFAULT_LIMITS, policy)).toBe(limits);
    expect(roomProtocolLimits({ ...DEFAULT_LIMITS, allowTextValues: true }, { textValues: false }).allowTextValues).toBe(false);
  });

  it("ask a join for the policy's room capacity, variables and bytes only", () => {
    expect(joinLimits(null)).toEqual({});
    expect(joinLimits({ limits: { maxClientsPerRoom: 5, maxRoomBytes: 9, setsPerSecond: 2 } })).toEqual({ maxClientsPerRoom: 5, maxRoomBytes: 9 });
  });

  it("set the rate to the policy's setsPerSecond with a burst in RATE_LIMIT_BURST's proportion, at least 1", () => {
    const config = loadConfig({ RATE_LIMIT_PER_SECOND: '10', RATE_LIMIT_BURST: '20' });
    expect(setRate(config, null)).toEqual({ perSecond: 10, burst: 20 });
    expect(setRate(config, null)).toBe(setRate(config, { frozen: true }));
    expect(setRate(config, { limits: { setsPerSecond: 100 } })).toEqual({ perSecond: 100, burst: 200 });
    const tight = loadConfig({ RATE_LIMIT_PER_SECOND: '30', RATE_LIMIT_BURST: '1' });
    expect(setRate(tight, { limits: { setsPerSecond: 1 } })).toEqual({ perSecond: 1, burst: 1 });
  });
});
