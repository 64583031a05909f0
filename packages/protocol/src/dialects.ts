import type { Dialect, DialectName, JsonObject } from './dialect.ts';
import { kindDialect } from './kind-dialect.ts';
import { scratchDialect } from './scratch-dialect.ts';

export { scratchDialect };

/** seed-protocol.md as written: `room` and `variable`. */
export const seedDialect: Dialect = kindDialect({
  name: 'seed',
  roomField: 'room',
  variableField: 'variable',
  readRoom: (raw) => raw,
  claims: (message: JsonObject) => Object.hasOwn(message, 'room'),
});

/**
 * The 2020 client (forkphorus) and the reference server: `id` and `var`. Those clients sent
 * numeric project ids, so a non-negative integer id is read as its decimal string.
 */
export const legacyDialect: Dialect = kindDialect({
  name: 'legacy',
  roomField: 'id',
  variableField: 'var',
  readRoom: (raw) => (typeof raw === 'number' ? (Number.isInteger(raw) && raw >= 0 ? String(raw) : undefined) : raw),
  claims: (message: JsonObject) => Object.hasOwn(message, 'id') && !Object.hasOwn(message, 'room'),
});

export const dialects: Readonly<Record<DialectName, Dialect>> = Object.freeze({
  seed: seedDialect,
  legacy: legacyDialect,
  scratch: scratchDialect,
});

/** Asked in this order which dialect a first frame speaks: `method` (without `kind`) first. */
const detectionOrder: readonly Dialect[] = [scratchDialect, seedDialect, legacyDialect];

/**
 * The dialect of a connection's first frame. A frame with an own `method` and no `kind` is
 * scratch; otherwise `room` is seed and `id` legacy. A frame nobody claims is judged by the
 * seed's rules, so it fails where the seed says: kind first, then room.
 */
export function detectDialect(message: JsonObject): Dialect {
  for (const dialect of detectionOrder) {
    if (dialect.claims(message)) return dialect;
  }
  return seedDialect;
}
