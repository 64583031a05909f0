-- Extend (or restore, if lapsed) the leases of some connections of one room, and name those
-- that cannot be (RoomStore.renew in ports.ts).
-- ARGV: now (ms, or -1 for Redis's clock), lease ttl, room ttl, max clients, then pairs of
-- connection id and the lower-cased username it holds ('' for none).
-- Reply: the connection ids whose lease could not be extended (every one when the room is gone).
-- Only leases still in the set are extended, so a renew racing a leave (or one for a lease
-- pruned more than a lease ttl after it lapsed) does not bring it back. A lapsed lease comes
-- back only as it was: with room for it, and its username still free or its own.
local now = clock(ARGV[1])
local lease_ttl = tonumber(ARGV[2])
local room_ttl = tonumber(ARGV[3])
local max_clients = tonumber(ARGV[4])
local FIRST_PAIR = 5
forget_if_expired(now)
local lost = {}
if redis.call('EXISTS', KEYS[2]) == 0 then
  for i = FIRST_PAIR, #ARGV, 2 do lost[#lost + 1] = ARGV[i] end
  return lost
end
for i = FIRST_PAIR, #ARGV, 2 do
  local id = ARGV[i]
  local lower = ARGV[i + 1]
  local score = tonumber(redis.call('ZSCORE', KEYS[3], id))
  if score == nil then
    lost[#lost + 1] = id
  elseif score > now then
    redis.call('ZADD', KEYS[3], now + lease_ttl, id)
  else
    local owner = lower ~= '' and redis.call('HGET', KEYS[4], lower) or false
    local name_free = lower == '' or not owner or owner == id or not is_live(owner, now)
    if name_free and live_count(now) < max_clients then
      redis.call('ZADD', KEYS[3], now + lease_ttl, id)
      if lower ~= '' then redis.call('HSET', KEYS[4], lower, id) end
    else
      lost[#lost + 1] = id
    end
  end
end
keep_until(now + lease_ttl, room_ttl, lease_ttl)
return lost
