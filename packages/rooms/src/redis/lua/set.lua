-- Store one value and publish the event in the same script: store order = publish order.
-- ARGV: now (ms, or -1 for Redis's clock), origin connection id, variable, value,
--       '1' to SPUBLISH (Cluster) else PUBLISH, '1' to create a missing variable,
--       max variables, max room bytes, user (for the log), log length, log value bytes, room ttl,
--       log name bytes, '1' when the value must be a number above the stored one (SetOptions.increasing;
--       a string's mark is no part of its number: value_number),
--       the setter's ledger: '' not charged (an operator), '0' may grow the room's charged size,
--       '1' at its bound (refused: address-bytes), ROOM_BASE_BYTES and LOG_ENTRY_BASE_BYTES (stored-bytes.ts).
-- Reply: {1, seq, bytes to charge the setter's address} or {0, reason}.
-- meta.charged: the room's charged size (stored-bytes.ts chargeOf: the same rule). Event payload: JSON [epoch, seq, origin, variable, value].
-- A set that may create is not a 2020 client's: the room is shared from then on (only2020 goes).
-- Max variables and max room bytes are the project's own when its policy sets them.
-- Cost (README.md, "What a set costs"): every meta field it reads in one HMGET and every one it
-- writes in one HSET, so a set that replaces a value is 7 calls: TIME (none with an injected
-- clock), HMGET, HSTRLEN, HSET vars, HSET meta, XADD, PUBLISH.
local now = clock(ARGV[1])
local variable = ARGV[3]
local value = ARGV[4]
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'seq', 'exp', 'bytes', 'logmax', 'charged', 'fresh', 'only2020')
local epoch = meta[1]
-- Every room's meta holds its epoch from its creation (join.lua): none, no room.
if not epoch or forget_if_past(meta[3], now) then return {0, 'unknown-room'} end
local old = entry_bytes(variable)
local count_before = nil
if old == 0 then
  if ARGV[6] ~= '1' then return {0, 'unknown-variable'} end
  count_before = redis.call('HLEN', KEYS[1])
  if count_before >= tonumber(ARGV[7]) then return {0, 'too-many-variables'} end
end
if ARGV[14] == '1' then
  local number = value_number(value)
  if number == nil then return {0, 'not-increasing'} end
  if old ~= 0 then
    local stored = value_number(redis.call('HGET', KEYS[1], variable))
    if stored ~= nil and number <= stored then return {0, 'not-increasing'} end
  end
end
local before = stored_room_bytes(meta[4])
local bytes = before - old + #variable + #value
if grows_beyond(before, bytes, tonumber(ARGV[8])) then return {0, 'over-budget'} end
local log_length = tonumber(ARGV[10])
local name_bytes = tonumber(ARGV[13])
local value_bytes = tonumber(ARGV[11])
local entry_max = log_entry_bytes(variable, value, log_length, name_bytes, value_bytes, tonumber(ARGV[17]))
local charge, new_charged, new_log_max = ledger_outcome(before, bytes, entry_max, log_length, ARGV[15], tonumber(ARGV[16]), meta[5], meta[6])
if charge == nil then return {0, 'address-bytes'} end
if changes_fresh_room(meta[7], variable, value, old ~= 0) then touch(now, tonumber(ARGV[12])) end
redis.call('HSET', KEYS[1], variable, value)
-- The room had no variable: this set created its vars hash, which expires with the room.
if count_before == 0 then expire_with_room(1) end
local seq = (tonumber(meta[2]) or 0) + 1
if new_charged == nil and new_log_max == nil then
  redis.call('HSET', KEYS[2], 'seq', seq, 'bytes', bytes)
else
  -- The ledger's high-water marks moved (a set that grows them): rarer, so the list is built only then.
  local fields = {'seq', seq, 'bytes', bytes}
  if new_charged then fields[#fields + 1] = 'charged'; fields[#fields + 1] = new_charged end
  if new_log_max then fields[#fields + 1] = 'logmax'; fields[#fields + 1] = new_log_max end
  redis.call('HSET', KEYS[2], unpack(fields))
end
if ARGV[6] == '1' and meta[8] then redis.call('HDEL', KEYS[2], 'only2020') end
append_log(ARGV[9], 'set', variable, value, now, log_length, name_bytes, value_bytes)
publish_payload(cjson.encode({epoch, seq, ARGV[2], variable, value}), ARGV[5])
return {1, seq, charge}
