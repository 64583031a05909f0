import { describe, expect, it } from 'vitest';
import { parseChannel, probeChannel, roomKeys, activeRoomsKey, addressKey, assertKeyPrefix } from '../src/redis/keys.ts';
import { parseRedisUrl, redactRedisUrl } from '../src/redis/url.ts';
import { RoomEngineError } from '../src/errors.ts';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof RoomEngineError ? error.code : 'not a RoomEngineError';
  }
  return undefined;
}

describe('parseRedisUrl', () => {
  it('reads redis:// with user, password, port and database', () => {
    expect(parseRedisUrl('redis://app:s%40cret@cache.local:6380/2')).toEqual({
      kind: 'standalone',
      node: { host: 'cache.local', port: 6380 },
      db: 2,
      tls: false,
      username: 'app',
      password: 's@cret',
    });
  });

  it('defaults the port to 6379 and the database to 0, and turns TLS on for rediss://', () => {
    expect(parseRedisUrl('rediss://:pw@[::1]')).toEqual({
      kind: 'standalone',
      node: { host: '::1', port: 6379 },
      db: 0,
      tls: true,
      password: 'pw',
    });
  });

  it('reads redis-sentinel:// with several sentinels, the master name and a database', () => {
    expect(parseRedisUrl('redis-sentinel://:pw@10.0.0.1:26380,10.0.0.2/mymaster/3')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26380 },
        { host: '10.0.0.2', port: 26379 },
      ],
      masterName: 'mymaster',
      db: 3,
      password: 'pw',
    });
  });

  it('reads redis-cluster:// with several seed nodes', () => {
    expect(parseRedisUrl('redis-cluster://127.0.0.1:7000,127.0.0.1:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ],
    });
  });

  it.each([
    ['http://localhost:6379', 'unsupported scheme'],
    ['localhost:6379', 'expected redis://'],
    ['redis://a:1,b:2', 'takes one host'],
    ['redis://host:99999', 'port'],
    ['redis://host/abc', 'database'],
    ['redis-sentinel://host:26379', 'master name'],
    ['redis-cluster://host:7000/1', 'takes no path'],
    ['redis://host?tls=true', 'query'],
    ['redis://', 'no host'],
  ])('refuses %s with CV_ERR_REDIS_URL naming the problem', (url, words) => {
    expect(codeOf(() => parseRedisUrl(url))).toBe('CV_ERR_REDIS_URL');
    expect(() => parseRedisUrl(url)).toThrow(words);
  });

  it('never echoes the password in an error or a redacted URL', () => {
    expect(codeOf(() => parseRedisUrl('redis://u:hunter2@host:notaport'))).toBe('CV_ERR_REDIS_URL');
    expect(() => parseRedisUrl('redis://u:hunter2@host:notaport')).not.toThrow(/hunter2/);
    expect(redactRedisUrl('redis://u:hunter2@host:6379')).toBe('redis://u:***@host:6379');
    // Unescaped `/`, `@` and `:` in a password: parseRedisUrl takes them (the user info ends
    // at the last `@`), and the redaction hides all of it.
    for (const password of ['a/b', 'p@ss', 'x:y/z@w']) {
      const redacted = redactRedisUrl(`redis://u:${password}@host:6379/2`);
      expect(redacted).toBe('redis://u:***@host:6379/2');
      expect(parseRedisUrl(`redis://u:${password}@host:6379/2`)).toMatchObject({ password, node: { host: 'host', port: 6379 }, db: 2 });
    }
    expect(redactRedisUrl('rediss://:s3/cr@t@host')).toBe('rediss://:***@host');
    expect(redactRedisUrl('redis://host:6379')).toBe('redis://host:6379');
    expect(redactRedisUrl('redis-sentinel://:hunter2@a,b/m')).toBe('redis-sentinel://:***@a,b/m');
  });
});

describe('keys', () => {
  it('puts every key and the channel of a room under the {room} hash tag', () => {
    const keys = roomKeys('cv:', 'project.42');
    for (const name of [keys.vars, keys.meta, keys.members, keys.names, keys.channel]) {
      expect(name.startsWith('cv:{project.42}')).toBe(true);
    }
    expect(new Set([keys.vars, keys.meta, keys.members, keys.names, keys.channel]).size).toBe(5);
  });

  it('parses a room channel and the probe channel back, and ignores foreign channels', () => {
    expect(parseChannel('cv:', roomKeys('cv:', 'a-b_c.1').channel)).toEqual({ kind: 'room', room: 'a-b_c.1' });
    expect(parseChannel('cv:', probeChannel('cv:', 'pod-7'))).toEqual({ kind: 'probe', podId: 'pod-7' });
    expect(parseChannel('cv:', activeRoomsKey('cv:'))).toBeNull();
    expect(parseChannel('cv:', addressKey('cv:', '::1'))).toBeNull();
    expect(parseChannel('cv:', 'other:{room}')).toBeNull();
    expect(parseChannel('cv:', 'cv:{room}:vars')).toBeNull();
  });

  it('refuses names that would move the hash tag', () => {
    expect(codeOf(() => roomKeys('cv:', 'a}b'))).toBe('CV_ERR_REDIS_KEY');
    expect(codeOf(() => roomKeys('cv:', '~rooms'))).toBe('CV_ERR_REDIS_KEY');
    expect(codeOf(() => roomKeys('cv:', ''))).toBe('CV_ERR_REDIS_KEY');
    expect(codeOf(() => assertKeyPrefix('cv{x}:'))).toBe('CV_ERR_REDIS_KEY');
    expect(addressKey('cv:', 'a{b}')).toBe('cv:{~addr:a_b_}');
  });
});
