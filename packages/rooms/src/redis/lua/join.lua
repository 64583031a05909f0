-- Join one connection to a room, atomically (see RoomStore.join and JoinRequest.variables in ports.ts).
-- ARGV: now (ms, or -1 for Redis's clock), id, lower-cased username ('' when not claimed), lease ttl, room ttl, max clients,
--       room slot granted (1/0), address slot granted (1/0), fresh epoch, variables declared (1/0),
--       may create the room (1/0), ttl of a room nobody changed (ms, 0: the room ttl),
--       '1' to SPUBLISH (Cluster) else PUBLISH, max variables, max room bytes, username (for the log),
--       log length, log name bytes, log value bytes,
--       the joiner's ledger ('' / '0' / '1': set.lua), ROOM_BASE_BYTES, LOG_ENTRY_BASE_BYTES,
--       the room's member in the active rooms' set to renew ('': none), the set's gc ttl (ms),
--       then name, value pairs.
-- KEYS: the room's (keys.ts roomScriptKeys); on one server (store.ts) then the active rooms'
-- set, whose room slot a join that did not take it anew renews here, once admitted: a refused
-- join or a last leave on another pod may have given it back since join-leases.lua refreshed
-- it. In Cluster (another slot) the store renews it after this script. Undeclared (Scratch 3 clients): the room is taken as it is.
-- Reply: {'ok', outcome, epoch, seq, bytes to charge the joiner's address, name1, value1, ...}
-- or {'no', reason, live members}. What a 2020 join stores is charged as a set's growth is
-- (ledger_charge), and refused ('address-bytes') at the address's bound.
-- meta.only2020 = '1' while only 2020 clients wrote to the room (set.lua, rename.lua and
-- delete.lua take it off); a room without it, including one stored before it existed, is shared.
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
local sharded = ARGV[13]
local max_variables = tonumber(ARGV[14])
local max_bytes = tonumber(ARGV[15])
local user = ARGV[16]
local log_length = tonumber(ARGV[17])
local log_name_bytes = tonumber(ARGV[18])
local log_value_bytes = tonumber(ARGV[19])
local ledger_gate = ARGV[20]
local room_base = tonumber(ARGV[21])
local entry_base = tonumber(ARGV[22])
local renew_slot = ARGV[23]
local rooms_gc = ARGV[24]
local FIRST_PAIR = 25
local charge = 0

-- What a join stores for an initial value the budget cannot hold (as the spec does for an invalid one).
local DEFAULT_VALUE = '0'

-- The values for `names` (declared, in order) that a room keeping `kept` variables of
-- `kept_bytes` adds: each its declared value while the room stays within the budget, else
-- "0" (memory/rooms.ts addNames: the same rule). nil and the refusal when they do not fit
-- even with "0", or would take the room over max_variables; else the values and the total.
local function add_names(names, wanted, kept, kept_bytes)
  if #names == 0 then return {}, kept_bytes end
  if kept + #names > max_variables then return nil, 'too-many-variables' end
  local total = kept_bytes
  for _, name in ipairs(names) do total = total + #name + #DEFAULT_VALUE end
  if total > max_bytes then return nil, 'over-budget' end
  local values = {}
  for _, name in ipairs(names) do
    local extra = #wanted[name] - #DEFAULT_VALUE
    if total + extra <= max_bytes then
      values[name] = wanted[name]
      total = total + extra
    else
      values[name] = DEFAULT_VALUE
    end
  end
  return values, total
end

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
local exists = redis.call('EXISTS', KEYS[2]) == 1
if not may_create and not exists then return {'no', 'room-creation-limit', live} end

-- Declared names in the request's order, and their values.
local order = {}
local wanted = {}
for i = FIRST_PAIR, #ARGV, 2 do
  order[#order + 1] = ARGV[i]
  wanted[ARGV[i]] = ARGV[i + 1]
end

local outcome
if not exists then
  local values, total = add_names(order, wanted, 0, 0)
  if not values then return {'no', total, live} end
  -- Its initial values are the joiner's growth (a creation logs nothing).
  charge = ledger_charge(0, total, 0, log_length, ledger_gate, room_base)
  if charge == nil then return {'no', 'address-bytes', live} end
  redis.call('DEL', KEYS[1], KEYS[6])
  for _, name in ipairs(order) do redis.call('HSET', KEYS[1], name, values[name]) end
  redis.call('HSET', KEYS[2], 'epoch', fresh_epoch, 'seq', 0, 'created', now, 'bytes', total)
  if declared then redis.call('HSET', KEYS[2], 'only2020', '1') end
  if untouched_ttl > 0 then redis.call('HSET', KEYS[2], 'fresh', untouched_ttl) end
  outcome = 'created'
elseif declared then
  local stored = redis.call('HKEYS', KEYS[1])
  local missing = {}
  for _, name in ipairs(order) do
    if redis.call('HEXISTS', KEYS[1], name) == 0 then missing[#missing + 1] = name end
  end
  local removed = {}
  if redis.call('HGET', KEYS[2], 'only2020') == '1' then
    -- 2020-only: the spec's rule. Other names while someone is connected: refused; nobody
    -- is: migrated (shared names keep stored values, new ones take the request's, removed go).
    if #missing == 0 and #stored == #order then
      outcome = 'joined'
    elseif live > 0 then
      return {'no', 'variables-mismatch', live}
    else
      for _, name in ipairs(stored) do
        if wanted[name] == nil then removed[#removed + 1] = name end
      end
      outcome = 'migrated'
    end
  elseif #missing == 0 then
    outcome = 'joined'
  else
    -- Shared: nothing is deleted, and the names the client lacks are added.
    outcome = 'extended'
  end
  if outcome ~= 'joined' then
    local kept_bytes = room_bytes()
    for _, name in ipairs(removed) do kept_bytes = kept_bytes - entry_bytes(name) end
    local values, total = add_names(missing, wanted, #stored - #removed, kept_bytes)
    if not values then return {'no', total, live} end
    local entry_max = 0
    for _, name in ipairs(removed) do entry_max = math.max(entry_max, log_entry_bytes(name, '', log_length, log_name_bytes, log_value_bytes, entry_base)) end
    for _, name in ipairs(missing) do entry_max = math.max(entry_max, log_entry_bytes(name, values[name], log_length, log_name_bytes, log_value_bytes, entry_base)) end
    charge = ledger_charge(room_bytes(), total, entry_max, log_length, ledger_gate, room_base)
    if charge == nil then return {'no', 'address-bytes', live} end
    touch(now, room_ttl)
    -- Published and logged like any change: every pod mirroring the room (lingering, live
    -- viewers) follows them in the room's order.
    for _, name in ipairs(removed) do
      redis.call('HDEL', KEYS[1], name)
      append_log(user, 'delete', name, '', now, log_length, log_name_bytes, 0)
      publish_change(id, {name, '', 'delete'}, sharded)
    end
    for _, name in ipairs(missing) do
      redis.call('HSET', KEYS[1], name, values[name])
      append_log(user, 'set', name, values[name], now, log_length, log_name_bytes, log_value_bytes)
      publish_change(id, {name, values[name]}, sharded)
    end
    redis.call('HSET', KEYS[2], 'bytes', total)
    if outcome == 'migrated' then redis.call('HSET', KEYS[2], 'migrated', now) end
  end
else
  outcome = 'joined'
end

redis.call('ZADD', KEYS[3], now + lease_ttl, id)
if lower ~= '' then redis.call('HSET', KEYS[4], lower, id) end
keep_until(now + lease_ttl, room_ttl, lease_ttl)

if renew_slot ~= '' and KEYS[8] then
  redis.call('ZADD', KEYS[8], 'GT', now + lease_ttl, renew_slot)
  redis.call('PEXPIRE', KEYS[8], rooms_gc)
end

local meta = redis.call('HMGET', KEYS[2], 'epoch', 'seq')
local reply = {'ok', outcome, meta[1], tonumber(meta[2]), charge}
for _, item in ipairs(sorted_vars()) do reply[#reply + 1] = item end
return reply
