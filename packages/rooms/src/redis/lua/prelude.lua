-- Prepended to every room script (scripts.ts). Every room script receives the same keys:
-- KEYS[1] vars (hash), KEYS[2] meta (hash), KEYS[3] members (zset), KEYS[4] names (hash),
-- KEYS[5] the room's channel, KEYS[6] log (stream), KEYS[7] actions (list). All share the
-- {room} hash tag: one Cluster slot. Every key but the channel and the actions is the room's
-- data and lives and expires with it (DATA_KEYS); the actions outlive it (keep_action).
-- Times are ms from `clock` (clock.lua): the injected clock in tests, else Redis's TIME;
-- the real PEXPIREs only collect garbage a margin after the logical expiries.

local GC_MARGIN_MS = 60000

-- Indexes in KEYS of the room's data (everything but the channel).
local DATA_KEYS = {1, 2, 3, 4, 6}

-- Deletes every key of the room's data.
local function delete_room_data()
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6])
end

-- A room past its logical expiry (meta.exp, as stored: nil or a string) no longer exists,
-- whatever Redis's own TTL says. True when it was deleted.
local function forget_if_past(exp, now)
  exp = tonumber(exp)
  if exp and exp <= now then
    delete_room_data()
    return true
  end
  return false
end

local function forget_if_expired(now)
  forget_if_past(redis.call('HGET', KEYS[2], 'exp'), now)
end

-- A lease is live while its expiry (score) is after now. A lapsed lease stays, with its
-- username, for one more lease period so that a late renew can restore both (unless someone
-- took the name meanwhile); then prune forgets it.
local function live_count(now)
  return redis.call('ZCOUNT', KEYS[3], '(' .. now, '+inf')
end

local function is_live(id, now)
  local score = tonumber(redis.call('ZSCORE', KEYS[3], id))
  return score ~= nil and score > now
end

local function prune(now, grace)
  local before = now - grace
  local lapsed = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', before)
  if #lapsed == 0 then return end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', before)
  local dead = {}
  for _, id in ipairs(lapsed) do dead[id] = true end
  local names = redis.call('HGETALL', KEYS[4])
  for i = 1, #names, 2 do
    if dead[names[i + 1]] then redis.call('HDEL', KEYS[4], names[i]) end
  end
end

-- Drops the username entry held by one connection (at most 100 members: a scan is cheap).
local function drop_name(id)
  local names = redis.call('HGETALL', KEYS[4])
  for i = 1, #names, 2 do
    if names[i + 1] == id then redis.call('HDEL', KEYS[4], names[i]) end
  end
end

-- A room nobody changed since it was created holds `fresh` in its meta: the ttl it gets
-- instead of the room ttl (shorter), so a flood of create-and-leave handshakes cannot fill
-- the store with rooms kept for weeks.
local function effective_ttl(room_ttl)
  local fresh = tonumber(redis.call('HGET', KEYS[2], 'fresh'))
  if fresh and (room_ttl <= 0 or fresh < room_ttl) then return fresh end
  return room_ttl
end

-- The room may be forgotten `room_ttl` after `until_ms` (the last lease's expiry, or the
-- moment it emptied). room_ttl 0 = never: no logical expiry and no Redis TTL.
local function keep_until(until_ms, room_ttl, real_ms_from_now)
  room_ttl = effective_ttl(room_ttl)
  if room_ttl <= 0 then
    redis.call('HDEL', KEYS[2], 'exp')
    for _, i in ipairs(DATA_KEYS) do redis.call('PERSIST', KEYS[i]) end
    return
  end
  -- Leases always end at most one lease ttl from now, so the latest call knows the latest end.
  redis.call('HSET', KEYS[2], 'exp', until_ms + room_ttl)
  local ttl = real_ms_from_now + room_ttl + GC_MARGIN_MS
  for _, i in ipairs(DATA_KEYS) do
    if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('PTTL', KEYS[i]) < ttl then
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
  end
end

-- A change to a room nobody changed before: from now on it keeps the room ttl, counted from
-- the same moment its short one was (the last member's leave, or its lease's end).
local function touch(now, room_ttl)
  if not redis.call('HGET', KEYS[2], 'fresh') then return end
  -- `exp` was set with the shorter of the two ttls (effective_ttl): take that one off.
  local short_ttl = effective_ttl(room_ttl)
  redis.call('HDEL', KEYS[2], 'fresh')
  local exp = tonumber(redis.call('HGET', KEYS[2], 'exp'))
  if exp then
    local until_ms = exp - short_ttl
    keep_until(until_ms, room_ttl, until_ms - now)
  end
end

-- Whether a room that was never changed (meta.fresh as stored: set while it was not) is being
-- changed: a new variable, or a value that differs.
local function changes_fresh_room(fresh, variable, value, exists)
  if not fresh then return false end
  return not exists or redis.call('HGET', KEYS[1], variable) ~= value
end

-- Variables as a flat name, value list sorted by name, so every engine returns one order.
local function sorted_vars()
  local flat = redis.call('HGETALL', KEYS[1])
  local names = {}
  local values = {}
  for i = 1, #flat, 2 do
    names[#names + 1] = flat[i]
    values[flat[i]] = flat[i + 1]
  end
  table.sort(names)
  local out = {}
  for _, name in ipairs(names) do
    out[#out + 1] = name
    out[#out + 1] = values[name]
  end
  return out
end

-- UTF-8 bytes of every name and value in the room's hash (Lua's # counts bytes).
local function count_bytes()
  local bytes = 0
  local flat = redis.call('HGETALL', KEYS[1])
  for i = 1, #flat do bytes = bytes + #flat[i] end
  return bytes
end

-- The room's use of its byte budget from meta.bytes as stored (nil or a string); counted
-- once for a room stored before it was.
local function stored_room_bytes(stored)
  local bytes = tonumber(stored)
  if bytes then return bytes end
  return count_bytes()
end

local function room_bytes()
  return stored_room_bytes(redis.call('HGET', KEYS[2], 'bytes'))
end

-- Whether a change taking the room from `before` to `after` bytes is refused: one that grows
-- it beyond the budget. One that does not grow it always applies, so a room over it can shrink.
local function grows_beyond(before, after, max_bytes)
  return after > max_bytes and after > before
end

-- Bytes a variable holds now (name and value), 0 when it does not exist. HSTRLEN: no copy of
-- the value; only an empty or missing one (HSTRLEN 0 for both) costs the HEXISTS that tells them apart.
local function entry_bytes(name)
  local length = redis.call('HSTRLEN', KEYS[1], name)
  if length == 0 and redis.call('HEXISTS', KEYS[1], name) == 0 then return 0 end
  return #name + length
end

-- Publishes a change's event on the room's channel; returns the payload as published.
local function publish_payload(encoded, sharded)
  if sharded == '1' then
    redis.call('SPUBLISH', KEYS[5], encoded)
  else
    redis.call('PUBLISH', KEYS[5], encoded)
  end
  return encoded
end

-- Counts an applied change and publishes its event: store order is publish order.
-- `fields` follow epoch, seq and origin in the payload (parseEventPayload in replies.ts reads them).
local function publish_change(origin, fields, sharded)
  local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  local epoch = redis.call('HGET', KEYS[2], 'epoch')
  local payload = {epoch, seq, origin}
  for _, field in ipairs(fields) do payload[#payload + 1] = field end
  return seq, publish_payload(cjson.encode(payload), sharded)
end

-- Keeps an operator action's payload, as published, for catch-up reads (actions.ts): the
-- latest `length`, for `ttl_ms` after the latest. Not room data: a deletion outlives its room.
local function keep_action(payload, length, ttl_ms)
  redis.call('RPUSH', KEYS[7], payload)
  redis.call('LTRIM', KEYS[7], -tonumber(length), -1)
  redis.call('PEXPIRE', KEYS[7], ttl_ms)
end

-- `s` read as a decimal number (optional '-', digits with at most one '.', an optional
-- exponent), finite as a double; nil for anything else, hex, 'inf' and spaces included,
-- which tonumber alone would take (memory/rooms.ts decimalNumber: the same rule).
local function decimal_number(s)
  local mantissa, exponent = string.match(s, '^(%-?[%d%.]+)([eE]?[%+%-]?%d*)$')
  if mantissa == nil then return nil end
  if not (string.find(mantissa, '^%-?%d+%.?%d*$') or string.find(mantissa, '^%-?%.%d+$')) then return nil end
  if exponent ~= '' and not string.find(exponent, '^[eE][%+%-]?%d+$') then return nil end
  local n = tonumber(s)
  if n == nil or n ~= n or n == math.huge or n == -math.huge then return nil end
  return n
end

-- A stored value's number for the "increasing" rule: its text without a string's mark
-- (U+0001, in front of a string whose text reads as a number), read by decimal_number. A
-- Scratch 3 client's JSON string "99" scores as 99 does (memory/rooms.ts valueNumber: the same rule).
local function value_number(s)
  if string.byte(s, 1) == 1 then return decimal_number(string.sub(s, 2)) end
  return decimal_number(s)
end

-- `s` cut to at most `max` bytes, never inside a UTF-8 character (log.ts clipUtf8: the same rule).
local function clip_utf8(s, max)
  if #s <= max then return s end
  local keep = max
  -- A byte 10xxxxxx continues a character that started before it: cut before that character.
  while keep > 0 do
    local b = string.byte(s, keep + 1)
    if b < 128 or b >= 192 then break end
    keep = keep - 1
  end
  return string.sub(s, 1, keep)
end

-- A data key a script just created expires with its room: keep_until sets the TTL of the
-- keys that exist when it runs, so one made later (the first variable of an empty room, the
-- log's first entry) takes the meta hash's.
local function expire_with_room(i)
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[i], ttl)
  elseif ttl == -1 then
    redis.call('PERSIST', KEYS[i])
  end
end

-- After a write to the vars hash that may have created it (it holds one field).
local function vars_written()
  if redis.call('HLEN', KEYS[1]) == 1 then expire_with_room(1) end
end

-- Appends a change to the room's log (KEYS[6]), trimmed to about `max_len` entries (0: no
-- log), in the script that applies the change: the log's order is the room's order. The
-- name is cut to `name_bytes`, the value to `value_bytes` (log.ts: what bounds the log).
-- The stream is created here, after keep_until last ran: it takes the meta's TTL, so it
-- never outlives the room. NOMKSTREAM answers nil for a missing stream: only the first entry
-- costs a second XADD (and the TTL), where every entry used to cost an XLEN to find out.
local function append_log(user, verb, name, value, now, max_len, name_bytes, value_bytes)
  if max_len <= 0 then return end
  local logged_name = clip_utf8(name, name_bytes)
  local logged_value = clip_utf8(value, value_bytes)
  if redis.call('XADD', KEYS[6], 'NOMKSTREAM', 'MAXLEN', '~', max_len, '*', 'u', user, 'v', verb, 'n', logged_name, 'x', logged_value, 't', now) then return end
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', max_len, '*', 'u', user, 'v', verb, 'n', logged_name, 'x', logged_value, 't', now)
  expire_with_room(6)
end

-- The ledger's part of a change taking the room from `before` to `after` bytes, its log
-- entries up to `entry_max` bytes (stored-bytes.ts roomSize and chargeOf: the same rule),
-- from meta's `logmax` and `charged` as stored (nil or strings). gate: '' not charged (an
-- operator), '0' may grow the room's charged size, '1' the address is at its bound. Returns
-- the bytes to charge the address, or nil when refused (at the bound and the change would
-- raise the charged size); then the new meta.charged and meta.logmax, each nil when unchanged.
local function ledger_outcome(before, after, entry_max, log_length, gate, base, stored_log_max, stored_charged)
  local log_max = tonumber(stored_log_max) or 0
  local new_max = math.max(log_max, entry_max)
  local charge = 0
  local new_charged = nil
  if gate ~= '' then
    local size_before = before + log_length * log_max + base
    local size_after = after + log_length * new_max + base
    if size_after > size_before then
      local charged = tonumber(stored_charged)
      local raised = size_after - (charged or size_before)
      if raised > 0 then
        if gate == '1' then return nil end
        charge = raised
        if not charged then charge = charge + base end
        new_charged = size_after
      end
    end
  end
  if new_max == log_max then new_max = nil end
  return charge, new_charged, new_max
end

-- ledger_outcome on the stored meta, recording what it changed. Call it before the change
-- writes anything: a refusal (nil) writes nothing.
local function ledger_charge(before, after, entry_max, log_length, gate, base)
  local stored = redis.call('HMGET', KEYS[2], 'logmax', 'charged')
  local charge, new_charged, new_max = ledger_outcome(before, after, entry_max, log_length, gate, base, stored[1], stored[2])
  if charge == nil then return nil end
  if new_charged then redis.call('HSET', KEYS[2], 'charged', new_charged) end
  if new_max then redis.call('HSET', KEYS[2], 'logmax', new_max) end
  return charge
end

-- What a logged change counts for meta.logmax (stored-bytes.ts logEntryBytes); 0 without a log.
local function log_entry_bytes(name, value, log_length, name_bytes, value_bytes, entry_base)
  if log_length == 0 then return 0 end
  return math.min(#name, name_bytes) + math.min(#value, value_bytes) + entry_base
end
