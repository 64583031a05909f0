/**
 * What Redis holds at the end of a soak, against what the remaining clients explain:
 * - every room key belongs to a room the soak used; a room with clients has exactly one
 *   live lease per client (members), one live username per 2020 client (names), and a live
 *   entry in the active-room set; a room without clients has no live lease and expires;
 * - each address holds exactly one live lease per remaining client from it;
 * - window counters expire; nothing else is stored;
 * - the subscribed channels are exactly the rooms with clients (one subscriber per gateway
 *   serving the room) and one probe channel per live gateway (PUBSUB NUMSUB);
 * - the connections are exactly two per live gateway (store and bus).
 * Lapsed leases still stored (kept one lease period for a late renew, pruned by the room's
 * next join or leave) are counted apart: they hold nothing.
 */
import { Redis } from 'ioredis';

export interface ExpectedRoom {
  readonly members: number;
  /** Clients holding their username (2020 clients; today's may share names). */
  readonly names: number;
  /** POD_IDs of the gateways its clients are on. */
  readonly pods: ReadonlySet<string>;
}

export interface Expected {
  readonly prefix: string;
  readonly active: ReadonlyMap<string, ExpectedRoom>;
  /** Every room the soak ever used, misbehaving clients' included. */
  readonly known: ReadonlySet<string>;
  /** Remaining clients per address. */
  readonly addresses: ReadonlyMap<string, number>;
  /** POD_IDs of the live gateways (their instance ids add a suffix). */
  readonly pods: readonly string[];
}

export interface AuditResult {
  readonly ok: boolean;
  /** Each mismatch, in a line. */
  readonly problems: string[];
  /** What was found, for the report. */
  readonly counts: Record<string, number>;
}

interface ParsedKey {
  readonly tag: string;
  readonly suffix: string;
}

function parseKey(prefix: string, key: string): ParsedKey | null {
  if (!key.startsWith(`${prefix}{`)) return null;
  const close = key.indexOf('}', prefix.length);
  if (close < 0) return null;
  return { tag: key.slice(prefix.length + 1, close), suffix: key.slice(close + 1) };
}

async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** A sorted set's members with a score after `now` (live leases) and at or before it (lapsed). */
async function leases(redis: Redis, key: string, now: number): Promise<{ live: string[]; lapsed: number }> {
  const live = await redis.zrangebyscore(key, `(${now}`, '+inf');
  const lapsed = await redis.zcount(key, '-inf', now);
  return { live, lapsed };
}

export async function auditRedis(url: string, expected: Expected): Promise<AuditResult> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  const problems: string[] = [];
  const counts: Record<string, number> = {};
  const count = (what: string, n = 1): void => {
    counts[what] = (counts[what] ?? 0) + n;
  };
  try {
    const [seconds, micros] = await redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const { prefix } = expected;
    const keys = await scanAll(redis, `${prefix}*`);
    count('keys', keys.length);
    const roomKeys = new Map<string, string[]>();
    for (const key of keys) {
      const parsed = parseKey(prefix, key);
      if (parsed === null) {
        problems.push(`unexplained key ${key}`);
        continue;
      }
      if (!parsed.tag.startsWith('~')) {
        const list = roomKeys.get(parsed.tag) ?? [];
        list.push(key);
        roomKeys.set(parsed.tag, list);
        continue;
      }
      if (parsed.tag === '~rooms') {
        const { live, lapsed } = await leases(redis, key, now);
        count('active-room leases', live.length);
        count('lapsed active-room leases', lapsed);
        const want = [...expected.active.keys()].sort();
        const have = [...live].sort();
        if (JSON.stringify(want) !== JSON.stringify(have)) {
          const missing = want.filter((room) => !live.includes(room));
          const extra = have.filter((room) => !expected.active.has(room));
          problems.push(
            `active rooms: ${missing.length} with clients but no lease (${missing.slice(0, 5).join(', ')}), ${extra.length} leased without clients (${extra.slice(0, 5).join(', ')})`,
          );
        }
      } else if (parsed.tag.startsWith('~addr:')) {
        const address = parsed.tag.slice('~addr:'.length);
        const { live, lapsed } = await leases(redis, key, now);
        count('address leases', live.length);
        count('lapsed address leases', lapsed);
        const want = expected.addresses.get(address) ?? 0;
        if (live.length !== want) problems.push(`address ${address}: ${live.length} live leases, ${want} clients remain`);
      } else if (parsed.tag.startsWith('~hits:')) {
        count('window counters');
        const ttl = await redis.pttl(key);
        // -2: it expired since the scan.
        if (ttl === -1) problems.push(`window counter ${key} never expires`);
      } else {
        problems.push(`unexplained key ${key}`);
      }
    }
    // Addresses that should hold leases but have no key at all.
    for (const [address, want] of expected.addresses) {
      if (want > 0 && !keys.includes(`${prefix}{~addr:${address}}`)) problems.push(`address ${address}: no lease set, ${want} clients remain`);
    }

    for (const [room, list] of roomKeys) {
      if (!expected.known.has(room)) {
        problems.push(`keys of a room no client used: ${room} (${list.join(', ')})`);
        continue;
      }
      const want = expected.active.get(room);
      const membersKey = `${prefix}{${room}}:members`;
      const namesKey = `${prefix}{${room}}:names`;
      const { live, lapsed } = await leases(redis, membersKey, now);
      count('room leases', live.length);
      count('lapsed room leases', lapsed);
      if (live.length !== (want?.members ?? 0)) problems.push(`room ${room}: ${live.length} live member leases, ${want?.members ?? 0} clients remain`);
      const names = await redis.hgetall(namesKey);
      const liveNames = Object.values(names).filter((owner) => live.includes(owner)).length;
      count('usernames held', liveNames);
      count('usernames of lapsed leases', Object.keys(names).length - liveNames);
      if (liveNames !== (want?.names ?? 0)) problems.push(`room ${room}: ${liveNames} usernames held by live leases, ${want?.names ?? 0} 2020 clients remain`);
      for (const key of list) {
        if ((await redis.pttl(key)) === -1) problems.push(`${key} never expires`);
      }
      if (want === undefined) count('rooms without clients, expiring');
      else count('rooms with clients');
    }
    for (const room of expected.active.keys()) {
      if (!roomKeys.has(room)) problems.push(`room ${room} has clients but no keys`);
    }

    // Subscriptions: one per gateway serving each active room, one probe and one policy listener per live gateway.
    const channels = (await redis.pubsub('CHANNELS', `${prefix}*`)) as string[];
    count('subscribed channels', channels.length);
    const numsub = channels.length === 0 ? [] : ((await redis.pubsub('NUMSUB', ...channels)) as Array<string | number>);
    const subscribers = new Map<string, number>();
    for (let i = 0; i < numsub.length; i += 2) subscribers.set(String(numsub[i]), Number(numsub[i + 1]));
    for (const [room, want] of expected.active) {
      const channel = `${prefix}{${room}}`;
      const have = subscribers.get(channel) ?? 0;
      if (have !== want.pods.size) problems.push(`channel of ${room}: ${have} subscribers, its clients are on ${want.pods.size} gateways`);
      subscribers.delete(channel);
    }
    for (const pod of expected.pods) {
      const probe = [...subscribers.keys()].filter((channel) => channel.startsWith(`${prefix}{~probe:${pod}-`));
      if (probe.length !== 1 || subscribers.get(probe[0] as string) !== 1)
        problems.push(`gateway ${pod}: ${probe.length} probe channels (${probe.map((c) => subscribers.get(c)).join(', ')} subscribers)`);
      for (const channel of probe) subscribers.delete(channel);
    }
    // Project policies: every live gateway listens for policy changes on one channel.
    const policies = `${prefix}{~policies}`;
    if (subscribers.has(policies) && subscribers.get(policies) !== expected.pods.length)
      problems.push(`policy channel: ${subscribers.get(policies)} subscribers, ${expected.pods.length} live gateways`);
    subscribers.delete(policies);
    for (const [channel, n] of subscribers) problems.push(`subscribed channel nobody explains: ${channel} (${n})`);

    // Connections: a store and a bus connection per live gateway, nothing of a dead one.
    const clientList = String(await redis.client('LIST'));
    const names = [...clientList.matchAll(/ name=(cloudvars:\S*)/g)].map((match) => match[1] as string);
    count('gateway connections', names.length);
    for (const pod of expected.pods) {
      const mine = names.filter((name) => name.startsWith(`cloudvars:${pod}-`));
      if (mine.length !== 2) problems.push(`gateway ${pod}: ${mine.length} Redis connections (${mine.join(', ')}), not a store and a bus`);
    }
    const strangers = names.filter((name) => !expected.pods.some((pod) => name.startsWith(`cloudvars:${pod}-`)));
    if (strangers.length > 0) problems.push(`Redis connections of no live gateway: ${strangers.join(', ')}`);
    return { ok: problems.length === 0, problems, counts };
  } finally {
    redis.disconnect();
  }
}
