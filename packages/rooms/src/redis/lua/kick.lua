-- Ask the room's connections that use a username to leave (RoomStore.kick in ports.ts): an
-- event in the room's order that changes nothing else; the pods close the connections.
-- ARGV: now (ms, or -1 for Redis's clock), origin, lower-cased username, '1' to SPUBLISH (Cluster) else PUBLISH,
-- actions kept, their ttl (ms): the kick is kept for catch-up reads (keep_action).
-- Reply: {1, seq} or {0, 'unknown-room'}. Event payload: JSON [epoch, seq, origin, username, '', 'kick'].
local now = clock(ARGV[1])
forget_if_expired(now)
if redis.call('EXISTS', KEYS[2]) == 0 then return {0, 'unknown-room'} end
local seq, payload = publish_change(ARGV[2], {ARGV[3], '', 'kick'}, ARGV[4])
keep_action(payload, ARGV[5], ARGV[6])
return {1, seq}
