-- Take (or refresh) one lease in a cluster-wide lease set (active rooms, one address's
-- connections). Stands alone: in Cluster it lives on another slot than the room.
-- KEYS[1] lease set. ARGV: now (ms, or -1 for Redis's clock), member, lease ttl ms,
-- max live members, gc ttl ms.
-- Reply: {2 already held (refreshed), 1 newly taken, or 0 refused (the set is full); the
-- member's expiry after this call (0 when refused)}. A give-back compares with the expiry.
local now = clock(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZSCORE', KEYS[1], ARGV[2])
local reply = 2
if not held then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return {0, 0} end
  reply = 1
end
redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {reply, tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]))}
