-- Ban a target until now + ttl, replacing a ban of the same target (Moderation.ban).
-- ARGV: now (ms, or -1 for Redis's clock), member, ttl ms, by, reason, most live bans.
-- Reply: {1, created, expires} or {0} when the list is full.
local now = clock(ARGV[1])
local member = ARGV[2]
prune_bans(now)
if not redis.call('ZSCORE', KEYS[1], member) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[6]) then return {0} end
local expires = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], expires, member)
redis.call('HSET', KEYS[2], member, cjson.encode({ARGV[4], ARGV[5], now}))
-- Redis forgets both keys a margin after the last ban lapses (the scores decide before that).
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local keep = tonumber(last[2]) - now + GC_MARGIN_MS
for i = 1, 2 do
  if redis.call('PTTL', KEYS[i]) < keep then redis.call('PEXPIRE', KEYS[i], keep) end
end
return {1, now, expires}
