-- Extend (or restore) leases in a cluster-wide lease set; never shortens one.
-- KEYS[1] lease set. ARGV: now (ms, or -1 for Redis's clock), lease ttl ms, gc ttl ms, then members.
local expiry = clock(ARGV[1]) + tonumber(ARGV[2])
for i = 4, #ARGV do redis.call('ZADD', KEYS[1], 'GT', expiry, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
