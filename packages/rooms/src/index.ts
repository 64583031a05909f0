export type * from './ports.ts';
export { RoomEngineError, toError, type RoomEngineErrorCode } from './errors.ts';
export { DEFAULT_LOG_LENGTH, LOG_NAME_BYTES, LOG_VALUE_BYTES } from './log.ts';
export { ACTION_HISTORY_LENGTH, ACTION_HISTORY_TTL_MS } from './actions.ts';
export { MAX_BANS, MAX_BLOCKED_WORDS, canonicalAddress } from './moderation.ts';
export { createMemoryEngine, type MemoryEngineOptions } from './memory/index.ts';
/** How rules read a stored value's number (the store's 'increasing'; the gateway's ranges). */
export { valueNumber } from './memory/rooms.ts';
export { createRedisEngine, parseRedisUrl, redactRedisUrl } from './redis/index.ts';
export type { RedisEngineOptions, RedisTarget } from './redis/index.ts';
/** What one address's sets may make the store hold (MAX_STORED_BYTES_PER_ADDRESS): how a room's size is counted. */
export { LOG_ENTRY_BASE_BYTES, ROOM_BASE_BYTES, logEntryBytes, roomSize } from './stored-bytes.ts';
/** A pod's sets of one origin in one room within one turn as one setMany (one Redis script call). */
export { batchSetsPerTurn, withSetsBatchedPerTurn } from './set-batcher.ts';
