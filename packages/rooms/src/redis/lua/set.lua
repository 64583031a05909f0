-- Store values of one origin and publish their events in the same script: store order =
-- publish order. One set (RoomStore.set) or several in order (RoomStore.setMany), each judged
-- at its turn as if alone: a later one sees the earlier ones, a refused one writes nothing.
-- ARGV: now (ms, or -1 for Redis's clock), origin connection id, '1' to SPUBLISH (Cluster) else
--       PUBLISH, '1' to create a missing variable, max variables, max room bytes, user (for the
--       log), log length, log value bytes, room ttl, log name bytes,
--       the setter's ledger: '' not charged (an operator), '0' may grow the room's charged size,
--       '1' at its bound (refused: address-bytes), ROOM_BASE_BYTES and LOG_ENTRY_BASE_BYTES (stored-bytes.ts),
--       then per set: variable, value, '1' when the value must be a number above the stored one
--       (SetOptions.increasing; a string's mark is no part of its number: value_number).
-- Reply: {bytes to charge the setter's address, then per set its seq (applied) or its reason (refused)}.
-- meta.charged: the room's charged size (stored-bytes.ts chargeOf: the same rule).
-- Event payload: JSON [epoch, seq, origin, variable, value] for one applied set; for several,
-- one publish of a JSON list of those (parseEventPayloads in replies.ts).
-- A set that may create is not a 2020 client's: the room is shared from then on (only2020 goes).
-- Max variables and max room bytes are the project's own when its policy sets them.
-- Cost (README.md, "What a set costs"): every meta field it reads in one HMGET and every one it
-- writes in one HSET, so a set that replaces a value is 7 calls: TIME (none with an injected
-- clock), HMGET, HSTRLEN, HSET vars, HSET meta, XADD, PUBLISH; each further set of a batch
-- adds its HSTRLEN, HSET and XADD.
local now = clock(ARGV[1])
local origin = ARGV[2]
local create = ARGV[4] == '1'
local max_bytes = tonumber(ARGV[6])
local user = ARGV[7]
local log_length = tonumber(ARGV[8])
local value_bytes = tonumber(ARGV[9])
local name_bytes = tonumber(ARGV[11])
local gate = ARGV[12]
local room_base = tonumber(ARGV[13])
local entry_base = tonumber(ARGV[14])
local FIRST_SET = 15

local reply = {0}
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'seq', 'exp', 'bytes', 'logmax', 'charged', 'fresh', 'only2020')
local epoch = meta[1]
-- Every room's meta holds its epoch from its creation (join.lua): none, no room.
if not epoch or forget_if_past(meta[3], now) then
  for _ = FIRST_SET, #ARGV, 3 do reply[#reply + 1] = 'unknown-room' end
  return reply
end
local seq = tonumber(meta[2]) or 0
local bytes = stored_room_bytes(meta[4])
local log_max = meta[5]
local charged = meta[6]
local fresh = meta[7]
local ledger_moved = false
-- The room's variable count, read by the first set that would create one.
local count = nil
-- The applied sets' payloads: the first alone, a list only from the second on (a batch).
local event = nil
local events = nil

-- Each set at its turn: its seq, or the reason it is refused (having written nothing). The
-- body is inline, in a `repeat ... until true` that `break` leaves with the refusal: a
-- function here would close over a dozen of these locals, and making those upvalues on every
-- call cost more than the rest of a set's Lua (set-cost.ts: about 2 us a call).
for i = FIRST_SET, #ARGV, 3 do
  local variable = ARGV[i]
  local value = ARGV[i + 1]
  local result
  repeat
    local old = entry_bytes(variable)
    if old == 0 then
      if not create then result = 'unknown-variable'; break end
      count = count or redis.call('HLEN', KEYS[1])
      if count >= tonumber(ARGV[5]) then result = 'too-many-variables'; break end
    end
    if ARGV[i + 2] == '1' then
      local number = value_number(value)
      if number == nil then result = 'not-increasing'; break end
      if old ~= 0 then
        local stored = value_number(redis.call('HGET', KEYS[1], variable))
        if stored ~= nil and number <= stored then result = 'not-increasing'; break end
      end
    end
    local after = bytes - old + #variable + #value
    if grows_beyond(bytes, after, max_bytes) then result = 'over-budget'; break end
    local entry_max = log_entry_bytes(variable, value, log_length, name_bytes, value_bytes, entry_base)
    local charge, new_charged, new_log_max = ledger_outcome(bytes, after, entry_max, log_length, gate, room_base, log_max, charged)
    if charge == nil then result = 'address-bytes'; break end
    reply[1] = reply[1] + charge
    if new_charged then charged = new_charged; ledger_moved = true end
    if new_log_max then log_max = new_log_max; ledger_moved = true end
    if changes_fresh_room(fresh, variable, value, old ~= 0) then
      touch(now, tonumber(ARGV[10]))
      fresh = false
    end
    redis.call('HSET', KEYS[1], variable, value)
    if old == 0 then
      -- The room had no variable: this set created its vars hash, which expires with the room.
      if count == 0 then expire_with_room(1) end
      count = count + 1
    end
    bytes = after
    seq = seq + 1
    append_log(user, 'set', variable, value, now, log_length, name_bytes, value_bytes)
    local payload = {epoch, seq, origin, variable, value}
    if event == nil then
      event = payload
    elseif events == nil then
      events = {event, payload}
    else
      events[#events + 1] = payload
    end
    result = seq
  until true
  reply[#reply + 1] = result
end
if event == nil then return reply end
if ledger_moved then
  -- The ledger's high-water marks moved (a set that grows them): rarer, so the list is built only then.
  local fields = {'seq', seq, 'bytes', bytes}
  if charged then fields[#fields + 1] = 'charged'; fields[#fields + 1] = charged end
  if log_max then fields[#fields + 1] = 'logmax'; fields[#fields + 1] = log_max end
  redis.call('HSET', KEYS[2], unpack(fields))
else
  redis.call('HSET', KEYS[2], 'seq', seq, 'bytes', bytes)
end
if create and meta[8] then redis.call('HDEL', KEYS[2], 'only2020') end
publish_payload(cjson.encode(events or event), ARGV[3])
return reply
