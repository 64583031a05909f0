-- Whether a join is barred (RoomStore.join checks it first). ARGV: now (ms, or -1 for
-- Redis's clock), room, lower-cased username, canonical address.
-- Reply: 'banned-username', 'banned-address', 'blocked-username', or '' when the join may go on.
return barred(clock(ARGV[1]), ARGV[2], ARGV[3], ARGV[4])
