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
local now = clock(ARGV[1])
local variable = ARGV[3]
local value = ARGV[4]
forget_if_expired(now)
if redis.call('EXISTS', KEYS[2]) == 0 then return {0, 'unknown-room'} end
local old = entry_bytes(variable)
if old == 0 then
  if ARGV[6] ~= '1' then return {0, 'unknown-variable'} end
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[7]) then return {0, 'too-many-variables'} end
end
if ARGV[14] == '1' then
  local number = value_number(value)
  if number == nil then return {0, 'not-increasing'} end
  if old ~= 0 then
    local stored = value_number(redis.call('HGET', KEYS[1], variable))
    if stored ~= nil and number <= stored then return {0, 'not-increasing'} end
  end
end
local before = room_bytes()
local bytes = before - old + #variable + #value
if grows_beyond(before, bytes, tonumber(ARGV[8])) then return {0, 'over-budget'} end
-- The room's size for the ledger (stored-bytes.ts roomSize, chargeOf): bytes, ROOM_BASE_BYTES,
-- its log counted full of its largest entry; meta.logmax is that entry's bytes.
local charge = 0
local log_length = tonumber(ARGV[10])
local log_max = tonumber(redis.call('HGET', KEYS[2], 'logmax')) or 0
local new_log_max = log_max
if log_length > 0 then
  new_log_max = math.max(log_max, math.min(#variable, tonumber(ARGV[13])) + math.min(#value, tonumber(ARGV[11])) + tonumber(ARGV[17]))
end
if ARGV[15] ~= '' then
  local base = tonumber(ARGV[16])
  local size_before = before + log_length * log_max + base
  local size_after = bytes + log_length * new_log_max + base
  if size_after > size_before then
    local charged = tonumber(redis.call('HGET', KEYS[2], 'charged'))
    local raised = size_after - (charged or size_before)
    if raised > 0 then
      if ARGV[15] == '1' then return {0, 'address-bytes'} end
      charge = raised
      if not charged then charge = charge + base end
      redis.call('HSET', KEYS[2], 'charged', size_after)
    end
  end
end
if new_log_max ~= log_max then redis.call('HSET', KEYS[2], 'logmax', new_log_max) end
if changes_fresh_room(variable, value, old ~= 0) then touch(now, tonumber(ARGV[12])) end
redis.call('HSET', KEYS[1], variable, value)
if old == 0 then vars_written() end
redis.call('HSET', KEYS[2], 'bytes', bytes)
if ARGV[6] == '1' then redis.call('HDEL', KEYS[2], 'only2020') end
append_log(ARGV[9], 'set', variable, value, now, tonumber(ARGV[10]), tonumber(ARGV[13]), tonumber(ARGV[11]))
return {1, publish_change(ARGV[2], {variable, value}, ARGV[5]), charge}
