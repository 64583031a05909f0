-- The room's state at one point of its order. ARGV: now (ms, or -1 for Redis's clock).
-- Reply: false when the room does not exist, else {epoch, seq, name1, value1, ...}.
forget_if_expired(clock(ARGV[1]))
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'seq')
if not meta[1] then return false end
local reply = {meta[1], tonumber(meta[2])}
for _, item in ipairs(sorted_vars()) do reply[#reply + 1] = item end
return reply
