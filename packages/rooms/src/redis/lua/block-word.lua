-- Change the run-time block list (Moderation.blockWord, unblockWord). The list has no TTL:
-- it holds until an operator changes it. ARGV: now (unused), 'add' or 'remove', lower-cased word, most words.
-- Reply, add: 1 added, 0 already there, -1 the list is full. Remove: 1 removed, 0 not there.
if ARGV[2] == 'remove' then return redis.call('SREM', KEYS[3], ARGV[3]) end
if redis.call('SISMEMBER', KEYS[3], ARGV[3]) == 1 then return 0 end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[4]) then return -1 end
return redis.call('SADD', KEYS[3], ARGV[3])
