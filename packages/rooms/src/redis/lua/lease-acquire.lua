-- Take (or refresh) one lease in a cluster-wide lease set (active rooms, one address's
-- connections). Stands alone: in Cluster it lives on another slot than the room.
-- KEYS[1] lease set. ARGV: now (ms, or -1 for Redis's clock), member, lease ttl ms,
-- max live members, gc ttl ms.
-- Reply: {status, expiry} of acquire_lease (lease-prelude.lua).
local status, expiry = acquire_lease(KEYS[1], clock(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
return {status, expiry}
