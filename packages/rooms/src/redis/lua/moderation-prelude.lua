-- Prepended to every moderation script (scripts.ts). KEYS[1] bans (zset: ban member ->
-- expiry ms), KEYS[2] ban info (hash: member -> JSON [by, reason, created ms]), KEYS[3]
-- the run-time block list (set of lower-cased words). One tag: one Cluster slot.

local GC_MARGIN_MS = 60000

-- Forgets bans that lapsed.
local function prune_bans(now)
  local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
  if #lapsed == 0 then return end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  -- One HDEL each: unpack() of thousands of members would overflow Lua's stack.
  for _, member in ipairs(lapsed) do redis.call('HDEL', KEYS[2], member) end
end

local function is_banned(member, now)
  local expiry = tonumber(redis.call('ZSCORE', KEYS[1], member))
  return expiry ~= nil and expiry > now
end

-- Why a join of `user` (lower-cased) from `address` (canonical) to `room` is barred:
-- 'banned-username', 'banned-address', 'blocked-username', or '' when it may go on.
local function barred(now, room, user, address)
  if is_banned('u||' .. user, now) or is_banned('u|' .. room .. '|' .. user, now) then return 'banned-username' end
  if is_banned('a||' .. address, now) or is_banned('a|' .. room .. '|' .. address, now) then return 'banned-address' end
  for _, word in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if string.find(user, word, 1, true) then return 'blocked-username' end
  end
  return ''
end
