-- One address's ledger of charged bytes (stored-bytes.ts; StoredBytesLedger is the same in
-- memory). Stands alone: in Cluster the ledger lives on the address's own slot, apart from
-- every room's, so the gateway's set charges it after the room's script answered.
-- KEYS[1] sorted set: room -> when its entry lapses (ms; +inf when the window is 0).
-- KEYS[2] hash: room -> bytes charged; '~total' -> their sum ('~' cannot start a room).
-- ARGV: now (ms, or -1 for Redis's clock), window ms (0: never lapse), entries pruned per
--       call, then a mode: 'charge' room bytes | 'touch' room (restart its window if it has
--       an entry: its address left it) | 'total'.
-- Reply: the address's total after the call.
local now = clock(ARGV[1])
local window = tonumber(ARGV[2])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, room in ipairs(lapsed) do
  local bytes = tonumber(redis.call('HGET', KEYS[2], room)) or 0
  redis.call('HINCRBY', KEYS[2], '~total', -bytes)
  redis.call('HDEL', KEYS[2], room)
  redis.call('ZREM', KEYS[1], room)
end
local lapses = '+inf'
if window > 0 then lapses = now + window end
local mode = ARGV[4]
if mode == 'charge' then
  redis.call('ZADD', KEYS[1], lapses, ARGV[5])
  redis.call('HINCRBY', KEYS[2], ARGV[5], tonumber(ARGV[6]))
  redis.call('HINCRBY', KEYS[2], '~total', tonumber(ARGV[6]))
elseif mode == 'touch' then
  redis.call('ZADD', KEYS[1], 'XX', lapses, ARGV[5])
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 0
end
if window > 0 then
  -- Redis forgets an idle ledger a little after its last entry would lapse.
  redis.call('PEXPIRE', KEYS[1], window + 60000)
  redis.call('PEXPIRE', KEYS[2], window + 60000)
end
return tonumber(redis.call('HGET', KEYS[2], '~total')) or 0
