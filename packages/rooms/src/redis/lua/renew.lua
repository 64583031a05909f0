-- Extend (or restore, if lapsed) the leases of some connections of one room.
-- ARGV: now (ms, or -1 for Redis's clock), lease ttl, room ttl, then connection ids.
-- Reply: 1, or 0 when the room no longer exists (its leases cannot be restored).
-- A lapsed lease gets its username back unless another connection took it meanwhile.
-- ZADD XX: only leases still in the set are extended, so a renew racing a leave (or one
-- for a lease pruned more than a lease ttl after it lapsed) does not bring it back.
local now = clock(ARGV[1])
local lease_ttl = tonumber(ARGV[2])
local room_ttl = tonumber(ARGV[3])
forget_if_expired(now)
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
for i = 4, #ARGV do redis.call('ZADD', KEYS[3], 'XX', now + lease_ttl, ARGV[i]) end
keep_until(now + lease_ttl, room_ttl, lease_ttl)
return 1
