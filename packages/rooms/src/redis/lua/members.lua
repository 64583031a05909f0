-- Live members of a room. ARGV: now (ms, or -1 for Redis's clock). Reply: count of leases with expiry > now.
local now = clock(ARGV[1])
forget_if_expired(now)
return live_count(now)
