-- Lift a ban (Moderation.unban). ARGV: now (ms, or -1 for Redis's clock), member.
-- Reply: 1 when a live ban was lifted, else 0.
local now = clock(ARGV[1])
local live = is_banned(ARGV[2], now)
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
if live then return 1 end
return 0
