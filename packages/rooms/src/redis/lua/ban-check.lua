-- Whether a join is barred (RoomStore.join checks it first). ARGV: now (ms, or -1 for
-- Redis's clock), room, lower-cased username, canonical address.
-- Reply: 'banned-username', 'banned-address', 'blocked-username', or '' when the join may go on.
local now = clock(ARGV[1])
local room, user, address = ARGV[2], ARGV[3], ARGV[4]
if is_banned('u||' .. user, now) or is_banned('u|' .. room .. '|' .. user, now) then return 'banned-username' end
if is_banned('a||' .. address, now) or is_banned('a|' .. room .. '|' .. address, now) then return 'banned-address' end
for _, word in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if string.find(user, word, 1, true) then return 'blocked-username' end
end
return ''
