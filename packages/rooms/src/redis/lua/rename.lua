-- Rename one variable, keeping its value, and publish the event in the same script.
-- ARGV: now (ms, or -1 for Redis's clock), origin connection id, variable, new name,
--       '1' to SPUBLISH (Cluster) else PUBLISH, max room bytes, user (for the log), log length,
--       log name bytes (the new name is logged as the value, cut like a name), room ttl,
--       the renamer's ledger ('' / '0' / '1': set.lua), ROOM_BASE_BYTES, LOG_ENTRY_BASE_BYTES.
-- Reply: {1, seq, bytes to charge the renamer's address} or {0, reason}. Event payload: JSON [epoch, seq, origin, variable, new name, 'rename'].
-- The room is shared from then on (only2020 goes): no 2020 client renames.
local now = clock(ARGV[1])
local variable = ARGV[3]
local new_name = ARGV[4]
forget_if_expired(now)
if redis.call('EXISTS', KEYS[2]) == 0 then return {0, 'unknown-room'} end
local value = redis.call('HGET', KEYS[1], variable)
if not value then return {0, 'unknown-variable'} end
if redis.call('HEXISTS', KEYS[1], new_name) == 1 then return {0, 'name-taken'} end
local before = room_bytes()
local bytes = before - #variable + #new_name
if grows_beyond(before, bytes, tonumber(ARGV[6])) then return {0, 'over-budget'} end
local log_length = tonumber(ARGV[8])
local name_bytes = tonumber(ARGV[9])
local charge = ledger_charge(before, bytes, log_entry_bytes(variable, new_name, log_length, name_bytes, name_bytes, tonumber(ARGV[13])), log_length, ARGV[11], tonumber(ARGV[12]))
if charge == nil then return {0, 'address-bytes'} end
touch(now, tonumber(ARGV[10]))
redis.call('HDEL', KEYS[1], variable)
redis.call('HSET', KEYS[1], new_name, value)
vars_written()
redis.call('HSET', KEYS[2], 'bytes', bytes)
redis.call('HDEL', KEYS[2], 'only2020')
append_log(ARGV[7], 'rename', variable, new_name, now, log_length, name_bytes, name_bytes)
return {1, publish_change(ARGV[2], {variable, new_name, 'rename'}, ARGV[5]), charge}
