-- Release one connection's lease and username. Idempotent.
-- ARGV: now (ms, or -1 for Redis's clock), id, lease ttl, room ttl.
-- Reply: {removed (1/0), live members left, now}. An empty room starts its room-ttl countdown.
local now = clock(ARGV[1])
local id = ARGV[2]
local lease_ttl = tonumber(ARGV[3])
local room_ttl = tonumber(ARGV[4])
forget_if_expired(now)
local removed = redis.call('ZREM', KEYS[3], id)
drop_name(id)
prune(now, lease_ttl)
local live = live_count(now)
if removed == 1 and live == 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  keep_until(now, room_ttl, lease_ttl)
end
return {removed, live, now}
