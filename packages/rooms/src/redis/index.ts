export { createRedisEngine } from './engine.ts';
export type { RedisEngineOptions } from './engine.ts';
export { parseRedisUrl, redactRedisUrl } from './url.ts';
export type { RedisNode, RedisTarget } from './url.ts';
