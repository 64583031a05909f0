-- Take back one hit of a fixed-window counter's current window (WindowCounters.refund).
-- KEYS[1] counter (hash: end, count). ARGV: now (ms, or -1 for Redis's clock). Reply: 1.
local ends = tonumber(redis.call('HGET', KEYS[1], 'end'))
if ends and ends > clock(ARGV[1]) and tonumber(redis.call('HGET', KEYS[1], 'count')) > 0 then
  redis.call('HINCRBY', KEYS[1], 'count', -1)
end
return 1
