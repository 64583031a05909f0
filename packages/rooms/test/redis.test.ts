import { describeRoomEngine } from './contract/describe-room-engine.ts';
import { redisPods } from '@cloudvars/test-support/redis-engines';
import { redisUrl } from '@cloudvars/test-support/redis-url';

// Two pods (two engines, two connections each) on one Redis with a fresh key prefix per test.
describeRoomEngine('redis', ({ limits, now }) => redisPods(redisUrl(), { limits, now }));
