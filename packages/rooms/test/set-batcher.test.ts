/**
 * The per-turn set batcher: the whole engine contract over memory and Redis with every store
 * call going through it, and what it sends to the store it wraps.
 */
import { redisPods } from '@cloudvars/test-support/redis-engines';
import { redisUrl } from '@cloudvars/test-support/redis-url';
import { describe, expect, it } from 'vitest';
import { createMemoryEngine } from '../src/index.ts';
import type { EngineStatusEvent, RoomStore, SetChange, SetManyOptions, SetOptions, SetResult } from '../src/ports.ts';
import { batchSetsPerTurn, withSetsBatchedPerTurn } from '../src/set-batcher.ts';
import { describeRoomEngine } from './contract/describe-room-engine.ts';

describeRoomEngine('memory, sets batched per turn', async ({ limits, now }) => {
  const statuses: EngineStatusEvent[] = [];
  const engine = withSetsBatchedPerTurn(createMemoryEngine({ limits, now, onStatus: (event) => statuses.push(event) }));
  return { engines: [engine, engine], statuses, cleanup: () => engine.close() };
});

describeRoomEngine('redis, sets batched per turn', async ({ limits, now }) => {
  const pods = await redisPods(redisUrl(), { limits, now });
  const [a, b] = pods.engines;
  return { engines: [withSetsBatchedPerTurn(a), withSetsBatchedPerTurn(b)], statuses: pods.statuses, cleanup: () => pods.cleanup() };
});

type Call =
  | { readonly method: 'set'; readonly room: string; readonly origin: string; readonly variable: string; readonly options: SetOptions }
  | { readonly method: 'setMany'; readonly room: string; readonly origin: string; readonly changes: readonly SetChange[]; readonly options: SetManyOptions }
  | { readonly method: 'rename'; readonly origin: string; readonly variable: string };

/** A store that records the calls it is made and answers each set with the next seq (or `answer`). */
function recordingStore(answer?: (variable: string) => SetResult | Error | undefined): { store: RoomStore; calls: Call[] } {
  const calls: Call[] = [];
  let seq = 0;
  const result = (variable: string): SetResult => {
    const given = answer?.(variable);
    if (given instanceof Error) throw given;
    return given ?? { ok: true, seq: ++seq };
  };
  const unused = (): never => {
    throw new Error('not used by this test');
  };
  const store: RoomStore = {
    set: async (room, origin, variable, _value, options = {}) => {
      calls.push({ method: 'set', room, origin, variable, options });
      return result(variable);
    },
    setMany: async (room, origin, changes, options = {}) => {
      calls.push({ method: 'setMany', room, origin, changes, options });
      if (changes.some(({ variable }) => answer?.(variable) instanceof Error)) throw new Error('the store failed');
      return changes.map(({ variable }) => result(variable));
    },
    rename: async (_room, origin, variable) => {
      calls.push({ method: 'rename', origin, variable });
      return { ok: true, seq: ++seq };
    },
    join: unused,
    delete: unused,
    log: unused,
    deleteRoom: unused,
    kick: unused,
    leave: unused,
    renew: unused,
    snapshot: unused,
    catchUp: unused,
    memberCount: unused,
  };
  return { store, calls };
}

describe('batchSetsPerTurn', () => {
  it('sends the sets of one origin made in one turn as one setMany, and each caller gets its own result', async () => {
    const { store, calls } = recordingStore((variable) => (variable === 'b' ? { ok: false, reason: 'too-many-variables' } : { ok: true, seq: 7 }));
    const batched = batchSetsPerTurn(store);
    const options = { create: true, user: 'u', address: '1.2.3.4' };
    const results = await Promise.all([
      batched.set('r', 'c1', 'a', '1', options),
      batched.set('r', 'c1', 'b', '2', options),
      batched.set('r', 'c1', 'c', '3', { ...options, increasing: true }),
    ]);
    expect(results).toEqual([
      { ok: true, seq: 7 },
      { ok: false, reason: 'too-many-variables' },
      { ok: true, seq: 7 },
    ]);
    expect(calls).toEqual([
      {
        method: 'setMany',
        room: 'r',
        origin: 'c1',
        changes: [
          { variable: 'a', value: '1' },
          { variable: 'b', value: '2' },
          { variable: 'c', value: '3', increasing: true },
        ],
        options: { create: true, user: 'u', address: '1.2.3.4', maxVariables: undefined, maxRoomBytes: undefined },
      },
    ]);
  });

  it('sends a lone set as a set, with its own options, and nothing before the end of the turn', async () => {
    const { store, calls } = recordingStore();
    const batched = batchSetsPerTurn(store);
    const result = batched.set('r', 'c1', 'a', '1', { increasing: true });
    expect(calls).toEqual([]);
    expect(await result).toEqual({ ok: true, seq: 1 });
    expect(calls).toEqual([{ method: 'set', room: 'r', origin: 'c1', variable: 'a', options: { increasing: true } }]);
  });

  it("keeps origins apart, and sends an origin's earlier sets before one with other options or another room", async () => {
    const { store, calls } = recordingStore();
    const batched = batchSetsPerTurn(store);
    await Promise.all([
      batched.set('r', 'c1', 'a', '1', { user: 'one' }),
      batched.set('r', 'c2', 'a', '2', { user: 'two' }),
      batched.set('r', 'c1', 'b', '1', { user: 'one' }),
      batched.set('r', 'c1', 'c', '1', { user: 'one', maxVariables: 5 }),
      batched.set('s', 'c1', 'd', '1', { user: 'one', maxVariables: 5 }),
    ]);
    expect(calls.map((call) => [call.method, call.origin, call.method === 'setMany' ? call.changes.map(({ variable }) => variable) : call.variable])).toEqual([
      ['setMany', 'c1', ['a', 'b']],
      ['set', 'c1', 'c'],
      ['set', 'c2', 'a'],
      ['set', 'c1', 'd'],
    ]);
  });

  it('sends the sets made before any other call first: a rename after sets of the same turn stays after them', async () => {
    const { store, calls } = recordingStore();
    const batched = batchSetsPerTurn(store);
    const sets = [batched.set('r', 'c1', 'a', '1'), batched.set('r', 'c1', 'b', '1')];
    const renamed = batched.rename('r', 'c1', 'a', 'z');
    const later = batched.set('r', 'c1', 'z', '2');
    await Promise.all([...sets, renamed, later]);
    expect(calls.map(({ method }) => method)).toEqual(['setMany', 'rename', 'set']);
  });

  it('fails every set of a batch whose call failed, and only those', async () => {
    const { store } = recordingStore((variable) => (variable === 'bad' ? new Error('the store failed') : undefined));
    const batched = batchSetsPerTurn(store);
    const failed = [batched.set('r', 'c1', 'ok', '1'), batched.set('r', 'c1', 'bad', '1')];
    const other = batched.set('r', 'c2', 'ok', '1');
    await expect(failed[0]).rejects.toThrow('the store failed');
    await expect(failed[1]).rejects.toThrow('the store failed');
    await expect(other).resolves.toMatchObject({ ok: true });
  });
});
