import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { EmptyRooms } from '../src/memory/empty-rooms.ts';

type Op = { kind: 'set'; name: string; at: number } | { kind: 'delete'; name: string } | { kind: 'sweep'; ttl: number; now: number };

const name = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), name, at: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ kind: fc.constant('delete' as const), name }),
  fc.record({ kind: fc.constant('sweep' as const), ttl: fc.integer({ min: 0, max: 30 }), now: fc.integer({ min: 0, max: 130 }) }),
);

describe('EmptyRooms: the store sweeps its empty rooms as a scan of a Map in insertion order would', () => {
  it('forgets the same rooms, in the same order, as the scan that stops at the first room not due, whatever order times come in', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const rooms = new EmptyRooms();
        const model = new Map<string, number>();
        for (const step of ops) {
          if (step.kind === 'set') {
            rooms.set(step.name, step.at);
            model.set(step.name, step.at);
          } else if (step.kind === 'delete') {
            rooms.delete(step.name);
            model.delete(step.name);
          } else {
            const forgotten: string[] = [];
            rooms.sweep(step.ttl, step.now, (forgot) => forgotten.push(forgot));
            const expected: string[] = [];
            if (step.ttl > 0) {
              for (const [room, at] of model) {
                if (at + step.ttl > step.now) break;
                expected.push(room);
              }
            }
            for (const room of expected) model.delete(room);
            expect(forgotten).toEqual(expected);
          }
          for (const room of ['a', 'b', 'c', 'd', 'e']) expect(rooms.get(room)).toBe(model.get(room));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('answers "nothing due" without a scan again once the room that came in out of order is gone', () => {
    const rooms = new EmptyRooms();
    rooms.set('a', 10);
    rooms.set('b', 20);
    rooms.set('c', 5); // out of order: the Map's first entry no longer holds the earliest time
    rooms.delete('c');
    const forgotten: string[] = [];
    rooms.sweep(5, 16, (room) => forgotten.push(room));
    expect(forgotten).toEqual(['a']);
    const scans = vi.spyOn(Map.prototype, Symbol.iterator);
    try {
      rooms.sweep(5, 17, (room) => forgotten.push(room));
      expect(scans).not.toHaveBeenCalled();
    } finally {
      scans.mockRestore();
    }
    expect(forgotten).toEqual(['a']);
  });
});
