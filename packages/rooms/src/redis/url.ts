/**
 * REDIS_URL forms (see README.md in this folder). The gateway calls `parseRedisUrl` at start
 * so a bad URL stops the process before it listens. Error messages never echo a password.
 */
import { RoomEngineError } from '../errors.ts';

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

interface Auth {
  readonly username?: string;
  readonly password?: string;
}

export type RedisTarget =
  | (Auth & { readonly kind: 'standalone'; readonly node: RedisNode; readonly db: number; readonly tls: boolean })
  | (Auth & { readonly kind: 'sentinel'; readonly sentinels: readonly RedisNode[]; readonly masterName: string; readonly db: number })
  | (Auth & { readonly kind: 'cluster'; readonly nodes: readonly RedisNode[] });

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i;

function fail(message: string): never {
  throw new RoomEngineError('CV_ERR_REDIS_URL', `REDIS_URL: ${message}`);
}

/** Replaces the password of any supported form with `***`, for logs. */
export function redactRedisUrl(url: string): string {
  // The same split as parseRedisUrl: the user info is everything before the last `@`, so
  // a password holding `/`, `@` or `:` is hidden whole.
  const scheme = SCHEME.exec(url.trim());
  if (!scheme?.[1] || scheme[2] === undefined) return url;
  const rest = scheme[2];
  const at = rest.lastIndexOf('@');
  if (at === -1) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon === -1) return url;
  return `${scheme[1]}://${userinfo.slice(0, colon)}:***@${rest.slice(at + 1)}`;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch (cause) {
    throw new RoomEngineError('CV_ERR_REDIS_URL', `REDIS_URL: ${what} is not valid percent-encoding (${String(cause)})`);
  }
}

function parseAuth(userinfo: string | undefined): Auth {
  if (userinfo === undefined) return {};
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
  const pass = colon === -1 ? '' : userinfo.slice(colon + 1);
  const auth: { username?: string; password?: string } = {};
  if (user !== '') auth.username = decode(user, 'the user name');
  if (pass !== '') auth.password = decode(pass, 'the password');
  return auth;
}

function parseNode(text: string, defaultPort: number): RedisNode {
  // `[v6]:port`, `[v6]`, `host:port`, `host`
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d+))?$/i.exec(text);
  const plain = /^([^:[\]\s]+)(?::(\d+))?$/.exec(text);
  const match = bracketed ?? plain;
  if (!match?.[1]) fail(`"${text}" is not host[:port]`);
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`port in "${text}" is not 1-65535`);
  return { host: match[1], port };
}

function parseNodes(text: string, defaultPort: number): RedisNode[] {
  if (text === '') fail('no host given');
  return text.split(',').map((part) => parseNode(part.trim(), defaultPort));
}

function parseDb(text: string): number {
  if (text === '') return 0;
  const db = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(db)) fail(`database "${text}" is not a number`);
  return db;
}

export function parseRedisUrl(url: string): RedisTarget {
  const scheme = SCHEME.exec(url.trim());
  if (!scheme?.[1] || scheme[2] === undefined) {
    fail('expected redis://, rediss://, redis-sentinel:// or redis-cluster://');
  }
  const kind = scheme[1].toLowerCase();
  let rest = scheme[2];
  if (rest.includes('?')) fail('query parameters are not supported');
  const at = rest.lastIndexOf('@');
  const auth = parseAuth(at === -1 ? undefined : rest.slice(0, at));
  rest = at === -1 ? rest : rest.slice(at + 1);
  const slash = rest.indexOf('/');
  const hosts = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/$/, '');

  switch (kind) {
    case 'redis':
    case 'rediss': {
      const nodes = parseNodes(hosts, DEFAULT_PORT);
      const node = nodes[0];
      if (nodes.length !== 1 || !node) fail(`${kind}:// takes one host; use redis-cluster:// or redis-sentinel:// for several`);
      return { kind: 'standalone', node, db: parseDb(path), tls: kind === 'rediss', ...auth };
    }
    case 'redis-sentinel': {
      const sentinels = parseNodes(hosts, DEFAULT_SENTINEL_PORT);
      const [masterName = '', db = '', ...extra] = path.split('/');
      if (masterName === '') fail('redis-sentinel:// needs the master name as its path: redis-sentinel://host:26379/mymaster');
      if (extra.length > 0) fail('redis-sentinel:// path is /<masterName>[/<db>]');
      return { kind: 'sentinel', sentinels, masterName: decode(masterName, 'the master name'), db: parseDb(db), ...auth };
    }
    case 'redis-cluster': {
      if (path !== '') fail('redis-cluster:// takes no path (Cluster has only database 0)');
      return { kind: 'cluster', nodes: parseNodes(hosts, DEFAULT_PORT), ...auth };
    }
    default:
      return fail(`unsupported scheme "${kind}://"; expected redis://, rediss://, redis-sentinel:// or redis-cluster://`);
  }
}
