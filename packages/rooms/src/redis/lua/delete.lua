-- Remove one variable and publish the event in the same script.
-- ARGV: now (ms, or -1 for Redis's clock), origin connection id, variable, '1' to SPUBLISH (Cluster) else PUBLISH,
--       user (for the log), log length, room ttl, log name bytes.
-- Reply: {1, seq} or {0, reason}. Event payload: JSON [epoch, seq, origin, variable, '', 'delete'].
-- The room is shared from then on (only2020 goes): no 2020 client deletes.
local now = clock(ARGV[1])
local variable = ARGV[3]
forget_if_expired(now)
if redis.call('EXISTS', KEYS[2]) == 0 then return {0, 'unknown-room'} end
local old = entry_bytes(variable)
if old == 0 then return {0, 'unknown-variable'} end
local bytes = room_bytes() - old
touch(now, tonumber(ARGV[7]))
redis.call('HDEL', KEYS[1], variable)
redis.call('HSET', KEYS[2], 'bytes', bytes)
redis.call('HDEL', KEYS[2], 'only2020')
append_log(ARGV[5], 'delete', variable, '', now, tonumber(ARGV[6]), tonumber(ARGV[8]), 0)
return {1, publish_change(ARGV[2], {variable, '', 'delete'}, ARGV[4])}
