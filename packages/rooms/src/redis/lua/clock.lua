-- Prepended to every script (scripts.ts). `now` in ms: the engine's injected clock when
-- ARGV carries one (tests move it), else Redis's own clock, so every pod reads one clock
-- whatever its host's says (-1 from the store). Redis >= 5 replicates script effects, not
-- the script, so TIME is safe here.
local function clock(arg)
  local injected = tonumber(arg)
  if injected ~= nil and injected >= 0 then return injected end
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
