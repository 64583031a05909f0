-- Join one connection to a room, atomically (see RoomStore.join in ports.ts).
-- ARGV: now (ms, or -1 for Redis's clock), id, lower-cased username ('' when not claimed), lease ttl, room ttl, max clients,
--       room slot granted (1/0), address slot granted (1/0), fresh epoch, variables declared (1/0),
--       may create the room (1/0), ttl of a room nobody changed (ms, 0: the room ttl),
--       then name, value pairs. Undeclared (Scratch 3 clients): the room is taken as it is.
-- Reply: {'ok', outcome, epoch, seq, name1, value1, ...} or {'no', reason, live members}.
local now = clock(ARGV[1])
local id = ARGV[2]
local lower = ARGV[3]
local lease_ttl = tonumber(ARGV[4])
local room_ttl = tonumber(ARGV[5])
local max_clients = tonumber(ARGV[6])
local room_slot = ARGV[7] == '1'
local address_slot = ARGV[8] == '1'
local fresh_epoch = ARGV[9]
local declared = ARGV[10] == '1'
local may_create = ARGV[11] == '1'
local untouched_ttl = tonumber(ARGV[12])
local FIRST_PAIR = 13

forget_if_expired(now)
prune(now, lease_ttl)

if lower ~= '' then
  local owner = redis.call('HGET', KEYS[4], lower)
  if owner and owner ~= id and is_live(owner, now) then return {'no', 'username-taken', 0} end
end
local live = live_count(now)
local already = is_live(id, now)
if not already and live >= max_clients then return {'no', 'room-full', live} end
-- A room with live members is active: it needs no new slot of the cluster-wide room limit.
if live == 0 and not room_slot then return {'no', 'too-many-rooms', live} end
if not address_slot then return {'no', 'address-limit', live} end
if not may_create and redis.call('EXISTS', KEYS[2]) == 0 then return {'no', 'room-creation-limit', live} end

local wanted = {}
local wanted_count = 0
for i = FIRST_PAIR, #ARGV, 2 do
  wanted[ARGV[i]] = ARGV[i + 1]
  wanted_count = wanted_count + 1
end

local outcome
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[6])
  for i = FIRST_PAIR, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
  redis.call('HSET', KEYS[2], 'epoch', fresh_epoch, 'seq', 0, 'created', now, 'bytes', count_bytes())
  if untouched_ttl > 0 then redis.call('HSET', KEYS[2], 'fresh', untouched_ttl) end
  outcome = 'created'
else
  local stored = redis.call('HKEYS', KEYS[1])
  local same = not declared or #stored == wanted_count
  if same and declared then
    for _, name in ipairs(stored) do
      if wanted[name] == nil then same = false break end
    end
  end
  if same then
    outcome = 'joined'
  elseif live > 0 then
    return {'no', 'variables-mismatch', live}
  else
    -- Nobody is connected: shared names keep stored values, new names take the request's,
    -- removed names go. A new epoch tells every pod that the old order ended.
    for _, name in ipairs(stored) do
      if wanted[name] == nil then redis.call('HDEL', KEYS[1], name) end
    end
    for i = FIRST_PAIR, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
    redis.call('HSET', KEYS[2], 'epoch', fresh_epoch, 'seq', 0, 'migrated', now, 'bytes', count_bytes())
    outcome = 'migrated'
  end
end

redis.call('ZADD', KEYS[3], now + lease_ttl, id)
if lower ~= '' then redis.call('HSET', KEYS[4], lower, id) end
keep_until(now + lease_ttl, room_ttl, lease_ttl)

local meta = redis.call('HMGET', KEYS[2], 'epoch', 'seq')
local reply = {'ok', outcome, meta[1], tonumber(meta[2])}
for _, item in ipairs(sorted_vars()) do reply[#reply + 1] = item end
return reply
