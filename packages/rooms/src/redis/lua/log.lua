-- The room's log, newest first (RoomStore.log in ports.ts). ARGV: now (ms, or -1 for
-- Redis's clock), most entries.
-- Reply: false when the room does not exist, else {user1, verb1, name1, value1, time1, ...}.
forget_if_expired(clock(ARGV[1]))
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local reply = {}
if tonumber(ARGV[2]) <= 0 then return reply end
for _, entry in ipairs(redis.call('XREVRANGE', KEYS[6], '+', '-', 'COUNT', tonumber(ARGV[2]))) do
  local fields = {}
  local flat = entry[2]
  for i = 1, #flat, 2 do fields[flat[i]] = flat[i + 1] end
  reply[#reply + 1] = fields.u or ''
  reply[#reply + 1] = fields.v or ''
  reply[#reply + 1] = fields.n or ''
  reply[#reply + 1] = fields.x or ''
  reply[#reply + 1] = fields.t or '0'
end
return reply
