-- Count one hit of a fixed-window counter (WindowCounters.hit in ports.ts). Stands alone:
-- in Cluster each counter lives on its own slot.
-- KEYS[1] counter (hash: end, count). ARGV: now (ms, or -1 for Redis's clock), window ms.
-- Reply: {count in this window, ms until it ends}.
local now = clock(ARGV[1])
local window = tonumber(ARGV[2])
local ends = tonumber(redis.call('HGET', KEYS[1], 'end'))
if not ends or ends <= now then
  ends = now + window
  redis.call('HSET', KEYS[1], 'end', ends, 'count', 0)
  -- Redis forgets the counter a little after its window (the logical end above decides).
  redis.call('PEXPIRE', KEYS[1], window + 1000)
end
return {redis.call('HINCRBY', KEYS[1], 'count', 1), ends - now}
