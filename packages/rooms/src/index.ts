export type * from './ports.ts';
export * from './memory/index.ts';
export { createRedisEngine, parseRedisUrl, redactRedisUrl, RedisEngineError } from './redis/index.ts';
export type { RedisEngineOptions, RedisStatusEvent, RedisTarget } from './redis/index.ts';
