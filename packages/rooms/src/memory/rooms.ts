import { randomUUID } from 'node:crypto';
import type { RoomSnapshot, VariableEntry } from '../ports.ts';
import { LogRing } from './log-ring.ts';

/** One room as the memory store holds it. Maps, never plain objects: `__proto__` is data. */
export interface MemoryRoom {
  epoch: string;
  seq: number;
  variables: Map<string, string>;
  /** Nobody changed it since it was created: it is forgotten after the untouched room ttl. */
  untouched: boolean;
  /** UTF-8 bytes of every name and value, for the room's byte budget. */
  bytes: number;
  /** Connection ids of live leases. */
  readonly members: Set<string>;
  /** Lower-cased username -> connection id, for live leases only. */
  readonly names: Map<string, string>;
  /** Connection ids whose lease lapsed but may still be restored by `renew()`. */
  readonly lapsed: Set<string>;
  /** The room's cloud log; it lives and goes with the room. */
  readonly log: LogRing;
}

/** Usernames are ASCII (PROTOCOL.md), so plain lower-casing is the case-insensitive key. */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

/** What a variable costs against the room's byte budget: its name and value in UTF-8. */
export function entryBytes(name: string, value: string): number {
  return Buffer.byteLength(name) + Buffer.byteLength(value);
}

function bytesOf(variables: ReadonlyMap<string, string>): number {
  let total = 0;
  for (const [name, value] of variables) total += entryBytes(name, value);
  return total;
}

export function createRoom(variables: readonly VariableEntry[], logLength: number): MemoryRoom {
  const map = new Map(variables);
  return {
    epoch: randomUUID(),
    seq: 0,
    variables: map,
    untouched: false,
    bytes: bytesOf(map),
    members: new Set(),
    names: new Map(),
    lapsed: new Set(),
    log: new LogRing(logLength),
  };
}

/** Names compared as sets: order and values do not matter. */
export function sameNames(room: MemoryRoom, variables: readonly VariableEntry[]): boolean {
  const requested = new Set(variables.map(([name]) => name));
  if (requested.size !== room.variables.size) return false;
  for (const name of requested) if (!room.variables.has(name)) return false;
  return true;
}

/**
 * Shared names keep their stored values, new names take the request's, removed names go.
 * A new epoch tells every consumer that seq restarted and its view must be re-read.
 */
export function migrateRoom(room: MemoryRoom, variables: readonly VariableEntry[]): void {
  const next = new Map<string, string>();
  for (const [name, value] of variables) next.set(name, room.variables.get(name) ?? value);
  room.variables = next;
  room.bytes = bytesOf(next);
  room.epoch = randomUUID();
  room.seq = 0;
}

/** Code point order, which is UTF-8 byte order: the order Redis's Lua sorts names in. */
function byCodePoint(a: string, b: string): number {
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(j) as number;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

/** Variables sorted by name as the Redis engine returns them: one order for every engine. */
export function snapshotOf(room: MemoryRoom): RoomSnapshot {
  const variables = [...room.variables].sort(([a], [b]) => byCodePoint(a, b));
  return { epoch: room.epoch, seq: room.seq, variables };
}
