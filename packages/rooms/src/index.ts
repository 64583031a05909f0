export type * from './ports.ts';
export { RoomEngineError, toError, type RoomEngineErrorCode } from './errors.ts';
export { createMemoryEngine, type MemoryEngineOptions } from './memory/index.ts';
export { createRedisEngine, parseRedisUrl, redactRedisUrl } from './redis/index.ts';
export type { RedisEngineOptions, RedisTarget } from './redis/index.ts';
