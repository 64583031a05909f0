-- Live members of a room. ARGV: now. Reply: count of leases with expiry > now.
local now = tonumber(ARGV[1])
forget_if_expired(now)
return live_count(now)
