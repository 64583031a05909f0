-- Extend (or restore) leases in a cluster-wide lease set; never shortens one.
-- KEYS[1] lease set. ARGV: expiry, gc ttl ms, then members.
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
