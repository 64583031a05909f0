-- Delete a whole room (RoomStore.deleteRoom in ports.ts): publish its last event, then
-- remove its data (variables, meta, leases, usernames, log) in the same script, so the
-- event takes its place in the room's order and nothing of the room survives it.
-- ARGV: now (ms, or -1 for Redis's clock), origin, '1' to SPUBLISH (Cluster) else PUBLISH,
-- actions kept, their ttl (ms): the deletion is kept for catch-up reads (keep_action), past the room.
-- Reply: {1, seq} or {0, 'unknown-room'}. Event payload: JSON [epoch, seq, origin, '', '', 'room-deleted'].
local now = clock(ARGV[1])
forget_if_expired(now)
if redis.call('EXISTS', KEYS[2]) == 0 then return {0, 'unknown-room'} end
local seq, payload = publish_change(ARGV[2], {'', '', 'room-deleted'}, ARGV[3])
keep_action(payload, ARGV[4], ARGV[5])
delete_room_data()
return {1, seq}
