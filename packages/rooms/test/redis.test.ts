import { describeRoomEngine } from './contract/describe-room-engine.ts';
import { redisPods } from './support/redis-engines.ts';
import { redisUrl } from './support/redis-url.ts';

// Two pods (two engines, two connections each) on one Redis with a fresh key prefix per test.
describeRoomEngine('redis', ({ limits, now }) => redisPods(redisUrl(), { limits, now }));
