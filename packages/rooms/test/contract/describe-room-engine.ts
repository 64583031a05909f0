import { describe } from 'vitest';
import type { RoomEngineFactory } from './harness.ts';
import { useWorld } from './harness.ts';
import { budgetContract } from './budget-contract.ts';
import { changesContract } from './changes-contract.ts';
import { countersContract } from './counters-contract.ts';
import { joinContract } from './join-contract.ts';
import { leaseContract } from './lease-contract.ts';
import { lifecycleContract } from './lifecycle-contract.ts';
import { limitsContract } from './limits-contract.ts';
import { logContract } from './log-contract.ts';
import { mixedRoomsContract } from './mixed-rooms-contract.ts';
import { moderationContract } from './moderation-contract.ts';
import { orderContract } from './order-contract.ts';
import { policiesContract } from './policies-contract.ts';
import { roomActionsContract } from './room-actions-contract.ts';
import { storedBytesContract } from './stored-bytes-contract.ts';
import { setManyContract } from './set-many-contract.ts';
import { setRulesContract } from './set-rules-contract.ts';

export type { RoomEngineFactory, RoomEngineUnderTest } from './harness.ts';

/**
 * The executable contract of ports.ts, run against every RoomEngine implementation.
 * The factory gets the limits and a clock the tests advance, and returns two "pods" on
 * one fresh backend (for a single-process engine both are the same engine).
 */
export function describeRoomEngine(name: string, factory: RoomEngineFactory): void {
  describe(`room engine contract: ${name}`, () => {
    const world = useWorld(factory);
    describe('joining', () => joinContract(world));
    describe('limits', () => limitsContract(world));
    describe('leases and room expiry', () => leaseContract(world));
    describe('sets and the bus', () => orderContract(world));
    describe('several sets of one origin as one step (setMany)', () => setManyContract(world));
    describe('created variables, budget, rename, delete, shared usernames', () => changesContract(world));
    describe('the byte budget and the variable limit on every way in', () => budgetContract(world));
    describe('rooms of both eras: 2020 joins in rooms others wrote to', () => mixedRoomsContract(world));
    describe('window counters', () => countersContract(world));
    describe('the cloud log', () => logContract(world));
    describe('operators: deleting a room, kicking a user', () => roomActionsContract(world));
    describe('operators: bans and the run-time block list', () => moderationContract(world));
    describe('operators: project policies', () => policiesContract(world));
    describe('sets under a project policy: increasing, its own limits', () => setRulesContract(world));
    describe('what one address can make the store hold (maxStoredBytesPerAddress)', () => storedBytesContract(world));
    describe('listener errors and close', () => lifecycleContract(factory));
  });
}
