/**
 * Resync storms (issue 13 #8): after an outage every room of every pod wants its snapshot
 * at once. The queue bounds the reads in flight, keeps each room once, and backs off a
 * failing room with jitter; the hub reads a room once per outage even when both the bus's
 * reconnect and the readiness probe's recovery report it.
 */
import { createMemoryEngine, type RoomEngine } from '@cloudvars/rooms';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../src/metrics.ts';
import { ResyncQueue, retryDelay, type ResyncQueueOptions } from '../src/hub/resync-queue.ts';
import { RoomHub, type LocalRoom, type RoomMember } from '../src/hub/room-hub.ts';
import { until } from './support/client.ts';

const OPTIONS: ResyncQueueOptions = { maxInFlight: 3, firstRetryMs: 1_000, maxRetryMs: 30_000 };

/** A read the test finishes by hand. */
interface HeldRead {
  readonly room: string;
  succeed(): void;
  fail(): void;
}

function heldReads(): { reads: HeldRead[]; read: (room: string) => Promise<void> } {
  const reads: HeldRead[] = [];
  return {
    reads,
    read: (room) =>
      new Promise<void>((resolve, reject) => {
        reads.push({ room, succeed: resolve, fail: () => reject(new Error(`read of ${room} failed`)) });
      }),
  };
}

describe('retryDelay', () => {
  it('doubles from the first delay up to the cap, and jitters between 50% and 150%', () => {
    const middle = { ...OPTIONS, random: () => 0.5 };
    expect([1, 2, 3, 4, 5, 6, 7].map((failures) => retryDelay(failures, middle))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(retryDelay(3, { ...OPTIONS, random: () => 0 })).toBe(2_000);
    expect(retryDelay(3, { ...OPTIONS, random: () => 0.999_999 })).toBe(6_000);
  });
});

describe('ResyncQueue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads at most maxInFlight rooms at once, in the order they asked, each room once while it waits', async () => {
    const { reads, read } = heldReads();
    const queue = new ResyncQueue(read, OPTIONS, () => undefined);
    for (const room of ['a', 'b', 'c', 'd', 'e', 'd', 'e']) queue.request(room);
    expect(reads.map((held) => held.room)).toEqual(['a', 'b', 'c']);
    expect(queue.pending).toBe(5);
    reads[1]?.succeed();
    await until(() => reads.length === 4, { what: 'the next read' });
    expect(reads.map((held) => held.room)).toEqual(['a', 'b', 'c', 'd']);
    for (const held of [...reads]) held.succeed();
    await until(() => reads.length === 5, { what: 'the last read' });
    expect(reads.at(-1)?.room).toBe('e');
    reads.at(-1)?.succeed();
    await until(() => queue.pending === 0, { what: 'an empty queue' });
    queue.close();
  });

  it('retries a failed read after a growing, jittered delay, and not before; forget cancels it', async () => {
    vi.useFakeTimers();
    const { reads, read } = heldReads();
    const retries: number[] = [];
    const queue = new ResyncQueue(read, { ...OPTIONS, random: () => 0.5 }, (_room, _failures, delayMs) => retries.push(delayMs));
    queue.request('a');
    for (let attempt = 1; attempt <= 3; attempt++) {
      reads.at(-1)?.fail();
      await vi.advanceTimersByTimeAsync(0);
      const readsSoFar = reads.length;
      queue.request('a'); // asking again while a retry is due changes nothing
      await vi.advanceTimersByTimeAsync((retries.at(-1) ?? 0) - 1);
      expect(reads.length).toBe(readsSoFar);
      await vi.advanceTimersByTimeAsync(1);
      expect(reads.length).toBe(readsSoFar + 1);
    }
    expect(retries).toEqual([1_000, 2_000, 4_000]);
    reads.at(-1)?.fail();
    await vi.advanceTimersByTimeAsync(0);
    queue.forget('a');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reads).toHaveLength(4);
    queue.close();
  });
});

describe('RoomHub resyncs', () => {
  let engine: RoomEngine | undefined;
  let hub: RoomHub | undefined;
  afterEach(async () => {
    hub?.close();
    await engine?.close();
  });

  it("reads each room once for one outage that both the bus's reconnect and the probe's recovery report", async () => {
    const real = createMemoryEngine({
      limits: {
        maxClientsPerRoom: 10,
        maxVariables: 10,
        maxRoomBytes: 100_000,
        maxRooms: 100,
        maxConnectionsPerAddress: 100,
        leaseTtlMs: 15_000,
        roomTtlMs: 60_000,
        untouchedRoomTtlMs: 0,
      },
    });
    engine = real;
    let reads = 0;
    const counting: RoomEngine = {
      ...real,
      store: new Proxy(real.store, {
        get(target, property, receiver): unknown {
          if (property === 'snapshot') {
            return (room: string) => {
              reads += 1;
              return target.snapshot(room);
            };
          }
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }),
    };
    hub = new RoomHub({ engine: counting, metrics: createMetrics(), log: pino({ level: 'silent' }), lingerMs: 1_000 });
    const member: RoomMember = { id: 'm', isJoined: true, deliver: () => undefined, resynced: () => undefined, evict: () => undefined };
    const rooms: LocalRoom[] = [];
    for (const name of ['r1', 'r2', 'r3']) {
      hub.enter(name, (room) => {
        rooms.push(room);
        return member;
      });
    }
    await Promise.all(rooms.map((room) => room.subscribed));

    const outageBegan = Date.now();
    hub.onResync(); // the bus reconnected
    await until(() => reads === 3, { what: 'one read per room' });
    // The readiness probe recovers from the same outage: a read would start synchronously.
    hub.resyncAll(outageBegan);
    hub.resyncAll(outageBegan);
    expect(reads).toBe(3);
    hub.resyncAll(Date.now() + 1); // a later outage reads them again
    await until(() => reads === 6, { what: 'the next outage read' });
  });
});
