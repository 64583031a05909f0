-- A join's ban check and both cluster-wide leases in one call, where every key is on one
-- server (not Cluster, where each is on a slot of its own: ban-check.lua and lease-acquire.lua
-- twice, in one round trip). The ban check comes first: a barred join takes no lease.
-- KEYS[1..3] the moderation keys (moderation-prelude.lua), KEYS[4] the active rooms,
-- KEYS[5] the address's connections. ARGV: now (ms, or -1 for Redis's clock), room,
-- lower-cased username, canonical address, connection id, lease ttl ms, max rooms,
-- max connections per address, gc ttl ms.
-- Reply: {refusal ('' when the join may go on), room slot status, its expiry, address slot
-- status, its expiry}, each slot as acquire_lease answers (lease-prelude.lua); 0s when barred.
local now = clock(ARGV[1])
local refusal = barred(now, ARGV[2], ARGV[3], ARGV[4])
if refusal ~= '' then return {refusal, 0, 0, 0, 0} end
local ttl, gc = tonumber(ARGV[6]), ARGV[9]
local room_status, room_expiry = acquire_lease(KEYS[4], now, ARGV[2], ttl, tonumber(ARGV[7]), gc)
local address_status, address_expiry = acquire_lease(KEYS[5], now, ARGV[5], ttl, tonumber(ARGV[8]), gc)
return {refusal, room_status, room_expiry, address_status, address_expiry}
