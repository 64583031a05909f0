-- Give back one member of a cluster-wide lease set, unless someone refreshed it after `bound`:
-- a room's slot is given back when its last member leaves (or a join that took it is
-- refused) while another join may be taking the same slot on another pod. That join's
-- acquire sets an expiry after `bound` (its now + the lease ttl), so it keeps the slot.
-- KEYS[1] lease set. ARGV: member, bound (the giver's now + lease ttl, ms).
-- Reply: 1 given back, 0 kept (refreshed since, or not there).
local score = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if score == nil or score > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
