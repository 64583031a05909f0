export { createRedisEngine } from './engine.ts';
export type { RedisEngineOptions } from './engine.ts';
export { parseRedisUrl, redactRedisUrl } from './url.ts';
export type { RedisNode, RedisTarget } from './url.ts';
export { RedisEngineError } from './errors.ts';
export type { RedisEngineErrorCode } from './errors.ts';
export type { RedisRole, RedisStatusEvent } from './status.ts';
