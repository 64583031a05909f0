-- Every live ban, the soonest to lapse first (Moderation.bans). ARGV: now (ms, or -1 for Redis's clock).
-- Reply: {member1, expiry1, info1, ...} (info: JSON [by, reason, created], or '' if missing).
local now = clock(ARGV[1])
prune_bans(now)
local reply = {}
local flat = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #flat, 2 do
  reply[#reply + 1] = flat[i]
  reply[#reply + 1] = flat[i + 1]
  reply[#reply + 1] = redis.call('HGET', KEYS[2], flat[i]) or ''
end
return reply
