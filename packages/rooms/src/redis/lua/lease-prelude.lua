-- Prepended to the scripts that take a cluster-wide lease (scripts.ts): lease-acquire.lua,
-- and join-leases.lua where every key is on one server.

-- Takes (or refreshes) `member`'s lease in the lease set `key` (never shortens it). Returns
-- 2 already held (refreshed), 1 newly taken, or 0 refused (the set holds `max` live members),
-- and the member's expiry after this call (0 when refused): a give-back compares with it.
local function acquire_lease(key, now, member, ttl, max, gc)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local status = 2
  if not redis.call('ZSCORE', key, member) then
    if redis.call('ZCARD', key) >= max then return 0, 0 end
    status = 1
  end
  redis.call('ZADD', key, 'GT', now + ttl, member)
  redis.call('PEXPIRE', key, gc)
  return status, tonumber(redis.call('ZSCORE', key, member))
end
