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
local log_length = tonumber(ARGV[10])
local charge = ledger_charge(before, bytes, log_entry_bytes(variable, value, log_length, tonumber(ARGV[13]), tonumber(ARGV[11]), tonumber(ARGV[17])), log_length, ARGV[15], tonumber(ARGV[16]))
if charge == nil then return {0, 'address-bytes'} end
if changes_fresh_room(variable, value, old ~= 0) then touch(now, tonumber(ARGV[12])) end
redis.call('HSET', KEYS[1], variable, value)
if old == 0 then vars_written() end
redis.call('HSET', KEYS[2], 'bytes', bytes)
if ARGV[6] == '1' then redis.call('HDEL', KEYS[2], 'only2020') end
append_log(ARGV[9], 'set', variable, value, now, tonumber(ARGV[10]), tonumber(ARGV[13]), tonumber(ARGV[11]))
return {1, publish_change(ARGV[2], {variable, value}, ARGV[5]), charge}
