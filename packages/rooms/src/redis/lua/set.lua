-- Store one value and publish the event in the same script: store order = publish order.
-- ARGV: now (ms, or -1 for Redis's clock), origin connection id, variable, value, '1' to SPUBLISH (Cluster) else PUBLISH.
-- Reply: {1, seq} or {0, reason}. Event payload: JSON [epoch, seq, origin, variable, value].
local now = clock(ARGV[1])
forget_if_expired(now)
if redis.call('EXISTS', KEYS[2]) == 0 then return {0, 'unknown-room'} end
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 then return {0, 'unknown-variable'} end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local epoch = redis.call('HGET', KEYS[2], 'epoch')
local payload = cjson.encode({epoch, seq, ARGV[2], ARGV[3], ARGV[4]})
if ARGV[5] == '1' then
  redis.call('SPUBLISH', KEYS[5], payload)
else
  redis.call('PUBLISH', KEYS[5], payload)
end
return {1, seq}
