/**
 * The gateway's settings: the only module that reads `process.env`. Every setting is
 * validated once at start; a bad value throws a ConfigError that names the variable, and
 * main.ts stops the process with it. The README's settings table mirrors `SETTINGS`.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class ConfigError extends Error {
  readonly code = 'CV_ERR_CONFIG';
}

type Env = Readonly<Record<string, string | undefined>>;

interface IntSetting {
  readonly kind: 'int';
  readonly default: number;
  readonly min: number;
  readonly max?: number;
  readonly help: string;
}
interface StringSetting {
  readonly kind: 'string';
  readonly default: string;
  readonly help: string;
}
interface BoolSetting {
  readonly kind: 'bool';
  readonly default: boolean;
  readonly help: string;
}
type Setting = IntSetting | StringSetting | BoolSetting;

const DAY_SECONDS = 24 * 60 * 60;

/** Every environment variable the gateway reads, its default and what it means. */
export const SETTINGS = {
  PORT: { kind: 'int', default: 9080, min: 0, max: 65535, help: 'TCP port for HTTP and WebSocket (0 picks a free one).' },
  HOST: { kind: 'string', default: '0.0.0.0', help: 'Address to listen on.' },
  METRICS_PORT: {
    kind: 'string',
    default: '',
    help: 'TCP port of GET /metrics (Prometheus), apart from the public port so the load balancer never routes it. Unset: PORT + 10000 (19080), or any free port when PORT is 0.',
  },
  REDIS_URL: {
    kind: 'string',
    default: '',
    help: 'Unset: one node, rooms in memory. Else redis://, rediss://, redis-sentinel:// or redis-cluster:// (see packages/rooms/src/redis/README.md).',
  },
  REDIS_KEY_PREFIX: { kind: 'string', default: 'cv:', help: 'Prefix of every Redis key and channel.' },
  POD_ID: { kind: 'string', default: '', help: 'Name of this pod in logs and connection ids (default: hostname).' },
  LOG_LEVEL: { kind: 'string', default: 'info', help: 'pino level: fatal, error, warn, info, debug, trace, silent.' },
  ANONYMIZE_ADDRESSES: { kind: 'bool', default: false, help: 'Log client addresses truncated (IPv4 /24, IPv6 /48).' },
  TRUST_PROXY: {
    kind: 'string',
    default: 'false',
    help: 'Take the client address from X-Forwarded-For: false, true, a hop count, or a comma list of proxy IPs/CIDRs.',
  },
  MAX_CONNECTIONS: { kind: 'int', default: 20_000, min: 1, help: 'Connections per pod; beyond, upgrades get HTTP 503 + Retry-After (a load balancer retries another pod).' },
  MAX_CLIENTS_PER_ROOM: { kind: 'int', default: 100, min: 1, help: 'Clients per room across the cluster (beyond: 1013, try again later; 2020 clients: 4003).' },
  MAX_VARIABLES: {
    kind: 'int',
    default: 128,
    min: 1,
    max: 1000,
    help: 'Variables per room, as TurboWarp\'s server allows: a 2020 handshake declaring more is refused (4000); a Scratch 3 set creating one more is ignored and counted.',
  },
  MAX_VALUE_LENGTH: {
    kind: 'int',
    default: 100_000,
    min: 1,
    max: 10_000_000,
    help: 'Longest value in characters, as TurboWarp\'s server allows (Scratch: 256); longer values are ignored.',
  },
  ALLOW_TEXT_VALUES: { kind: 'bool', default: false, help: 'Accept any text as a value, not only numbers (every dialect).' },
  MAX_ROOM_BYTES: {
    kind: 'int',
    default: 1024 * 1024,
    min: 1024,
    help: 'Bytes of names and values one room may hold, on every way in: a set or rename that would grow a room beyond it is ignored and counted (one that does not grow it applies); a 2020 handshake stores initial values beyond it as "0", and is refused (4003) when its names alone do not fit.',
  },
  ALLOW_RENAME: { kind: 'bool', default: false, help: 'Apply Scratch 3 rename messages (off, as on TurboWarp\'s server: ignored).' },
  ALLOW_DELETE: { kind: 'bool', default: false, help: 'Apply Scratch 3 delete messages (off, as on TurboWarp\'s server: ignored).' },
  ALLOW_DUPLICATE_USERNAMES: {
    kind: 'bool',
    default: true,
    help: 'Let Scratch 3 clients share a username in a room (generated names, one person in two tabs); 2020 clients always need a free one.',
  },
  MAX_ROOMS: { kind: 'int', default: 100_000, min: 1, help: 'Active rooms across the cluster (beyond: 1013, try again later; 2020 clients: 4003).' },
  IPV6_PREFIX_LENGTH: {
    kind: 'int',
    default: 64,
    min: 1,
    max: 128,
    help: 'IPv6 addresses count toward every per-address limit by this prefix (a /64 is one subscriber); IPv4 addresses one by one.',
  },
  MAX_CONNECTIONS_PER_ADDRESS: {
    kind: 'int',
    default: 1000,
    min: 1,
    help: 'Connections per client address (a school behind one NAT address is one): beyond it on one pod, upgrades get HTTP 429; joined clients beyond it across the cluster, 1013 (2020 clients: 4003).',
  },
  RATE_LIMIT_PER_SECOND: {
    kind: 'int',
    default: 30,
    min: 1,
    help: 'Sets per second per connection, sustained: beyond, 2020 clients are closed (4004); Scratch 3 clients\' sets wait, newest value per variable.',
  },
  RATE_LIMIT_BURST: { kind: 'int', default: 30, min: 1, help: 'Messages a connection may send at once (token bucket size).' },
  HANDSHAKE_TIMEOUT_MS: { kind: 'int', default: 30_000, min: 100, help: 'Close (4000) a connection that has not sent its handshake by then.' },
  PING_INTERVAL_MS: { kind: 'int', default: 30_000, min: 100, help: 'Ping period; a client that missed the previous pong is dropped.' },
  MAX_PAYLOAD_BYTES: { kind: 'int', default: 1024 * 1024, min: 1024, help: 'Largest client frame (1009 beyond), as on TurboWarp\'s server.' },
  FLOOD_LIMIT_PER_SECOND: {
    kind: 'int',
    default: 300,
    min: 1,
    help: 'Frames per second a Scratch 3 connection is read at, sustained, once FLOOD_BURST is spent (each 4 KiB counts as one more frame): beyond, its socket is not read until it is back within the rate (TCP pushes back on that client alone); nothing is closed or lost.',
  },
  FLOOD_BURST: {
    kind: 'int',
    default: 10_000,
    min: 1,
    help: 'Frames a Scratch 3 connection may send at once before FLOOD_LIMIT_PER_SECOND paces it (a bot setting 10,000 values in a loop is read at once; its sets wait for RATE_LIMIT_PER_SECOND, newest value per variable).',
  },
  USERNAME_BLOCKLIST: { kind: 'string', default: '', help: 'Comma list of words a username may not contain (case-insensitive; 4002).' },
  LEASE_TTL_MS: { kind: 'int', default: 15_000, min: 1_000, help: 'A dead pod\'s usernames and slots are freed within this time.' },
  UNTOUCHED_ROOM_TTL_SECONDS: {
    kind: 'int',
    default: 600,
    min: 0,
    help: 'A room nobody changed since its creation (no value but its initial ones) is forgotten this long after its last member left; 0 = ROOM_TTL_SECONDS.',
  },
  MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE: {
    kind: 'int',
    default: 1000,
    min: 1,
    help: 'Rooms one address may create a minute, across the cluster (1013 beyond; 2020 clients: 4003), so a class of 300 each opening a new project gets in, and what one address can make the store keep is bounded (README "What one address can make Redis hold").',
  },
  MAX_STORED_BYTES_PER_ADDRESS: {
    kind: 'int',
    default: 512 * 1024 * 1024,
    min: 0,
    help: 'Bytes one address\'s sets may have grown rooms by, across the cluster, each room counted at the most it held (with its cloud log and 580 bytes of its own) until ROOM_TTL_SECONDS after the address last was in it: beyond, its sets that would grow a room further are ignored and counted (its other sets and its joins apply), so what one address can make the store keep is bounded (README "What one address can make Redis hold"); 300 pupils each filling a room of MAX_ROOM_BYTES stay under it. 0: no limit.',
  },
  MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND: {
    kind: 'int',
    default: 100,
    min: 1,
    help: 'WebSocket upgrades one address may make a second, across the cluster (HTTP 429 beyond): a lab of 300 opening a project at once is in within a few seconds of its clients\' back-off.',
  },
  ALLOWED_ORIGINS: {
    kind: 'string',
    default: '',
    help: 'Comma list of origins (https://example.org) browsers may connect from (HTTP 403 for others); unset: any. Always let in: clients that send no Origin, and an Origin naming the server\'s own Host (what Python\'s websocket-client, hence scratchattach, sends; a page of this server).',
  },
  BLOCKED_USER_AGENTS: {
    kind: 'string',
    default: '',
    help: 'Comma list of words: a client whose User-Agent contains one (case-insensitive) is closed with 4006, the close frame\'s reason saying why.',
  },
  REQUIRE_USER_AGENT: { kind: 'bool', default: false, help: 'Close (4006) clients that send no User-Agent, as TurboWarp\'s server can: bots must identify themselves.' },
  ROOM_TTL_SECONDS: { kind: 'int', default: 30 * DAY_SECONDS, min: 0, help: 'Empty rooms are forgotten after this long; 0 = never.' },
  DRAIN_DELAY_MS: { kind: 'int', default: 3_000, min: 0, help: 'On SIGTERM, keep serving this long with /readyz failing, so the load balancer stops sending.' },
  DRAIN_BATCH_SIZE: { kind: 'int', default: 200, min: 1, help: 'Clients closed (1012) per batch while draining.' },
  SEND_BUFFER_LIMIT_BYTES: { kind: 'int', default: 1024 * 1024, min: 1024, help: 'A client whose unsent data stays above this for SLOW_CONSUMER_TIMEOUT_MS is dropped (1008).' },
  SEND_BUFFER_POD_LIMIT_BYTES: {
    kind: 'int',
    default: 256 * 1024 * 1024,
    min: 1024,
    help: 'Unsent data all clients and live room pages of the pod may hold together; beyond, those holding the most are dropped (1008) first.',
  },
  MAX_STORE_CALLS_IN_FLIGHT: {
    kind: 'int',
    default: 1000,
    min: 1,
    help: "Clients' changes waiting for the store's answer on this pod; at this many, clients that send are not read (TCP pushes back) until half of them are answered, or the pod's next 1 s sweep finds fewer.",
  },
  ROOM_LINGER_MS: { kind: 'int', default: 5_000, min: 0, help: 'An emptied room stays subscribed this long on a pod, so a page reload costs no resubscribe.' },
  FLUSH_INTERVAL_MS: {
    kind: 'int',
    default: 16,
    min: 0,
    max: 1000,
    help: "The pod's frame tick: each client is written at most one frame per tick. A client's first update in a tick leaves at once (at the end of its event-loop turn); updates that follow wait for the next tick and go out together, so frames carry more updates as load rises. 16: 62.5 frames a second at most, no slower than a 60 FPS project draws. 0: every turn, no tick.",
  },
  SLOW_CONSUMER_TIMEOUT_MS: { kind: 'int', default: 10_000, min: 100, help: 'How long a client may stay above SEND_BUFFER_LIMIT_BYTES; meanwhile its updates are coalesced.' },
  SHUTDOWN_TIMEOUT_MS: { kind: 'int', default: 30_000, min: 1_000, help: 'Hard limit on a drain; keep it below the orchestrator\'s grace period.' },
  ADMIN_TOKENS: {
    kind: 'string',
    default: '',
    help: 'Comma list of name:token pairs for the HTTP API\'s admin calls (Authorization: Bearer <token>; tokens of 16-256 printable characters). Unset: no admin API (404).',
  },
  ADMIN_TOKENS_FILE: { kind: 'string', default: '', help: 'A file holding the ADMIN_TOKENS list (a mounted secret), read at start; instead of ADMIN_TOKENS.' },
  API_READS_NEED_TOKEN: {
    kind: 'bool',
    default: false,
    help: 'Room reads (GET /api/v1/rooms/..., the live room page) need an admin token too; off, they are public, as cloud values are on Scratch.',
  },
  API_RATE_LIMIT_PER_MINUTE: { kind: 'int', default: 300, min: 1, help: 'HTTP API calls per client address per minute, across the cluster (HTTP 429 beyond); an operator\'s calls (a valid admin token) count apart.' },
  API_OPERATOR_RATE_LIMIT_PER_MINUTE: {
    kind: 'int',
    default: 6000,
    min: 1,
    help: 'HTTP API calls per operator (admin token) per minute, across the cluster (HTTP 429 beyond), counted apart from its address\'s, so players behind the same address cannot starve it; high enough for a backend that owns protected variables.',
  },
  CLOUD_LOG_LENGTH: {
    kind: 'int',
    default: 100,
    min: 0,
    max: 10_000,
    help: 'Changes each room\'s cloud log keeps (GET /api/v1/rooms/{room}/log); names are logged cut to 256 bytes and values to 1 KiB, so an entry costs Redis at most about 1.6 KB (160 KB a room at 100), outside MAX_ROOM_BYTES; 0 keeps none.',
  },
  LIVE_VIEWERS_PER_ADDRESS: { kind: 'int', default: 10, min: 1, help: 'Live room page subscriptions per client address on one pod (HTTP 429 beyond).' },
  MAX_LIVE_VIEWERS: { kind: 'int', default: 1_000, min: 1, help: 'Live room page subscriptions per pod (HTTP 503 beyond).' },
  HANDSHAKE_HOOK_URL: {
    kind: 'string',
    default: '',
    help: 'http(s) URL the gateway POSTs each handshake to before admitting the client (README "Handshake hook"): the answer admits, refuses (4002, 4004) or renames the user. Unset: no hook.',
  },
  HANDSHAKE_HOOK_TIMEOUT_MS: { kind: 'int', default: 1_000, min: 10, max: 30_000, help: 'A hook answer later than this counts as the hook being down (HANDSHAKE_HOOK_FAIL_MODE decides).' },
  HANDSHAKE_HOOK_CACHE_SECONDS: {
    kind: 'int',
    default: 60,
    min: 0,
    max: DAY_SECONDS,
    help: 'A hook answer (admit, refuse, rename) is reused this long, per pod, for the same project, user, dialect, User-Agent, Origin and address; 0: every handshake asks.',
  },
  HANDSHAKE_HOOK_MAX_IN_FLIGHT: {
    kind: 'int',
    default: 100,
    min: 1,
    help: 'Hook calls one pod makes at once; a handshake beyond them is treated as the hook being down, so a slow hook cannot pile up joins.',
  },
  HANDSHAKE_HOOK_FAIL_MODE: {
    kind: 'string',
    default: 'open',
    help: 'When the hook is down (no answer in time, an error, any answer but the documented ones, too many calls at once): open admits the client as it asked; closed refuses it with 1011 (every client retries).',
  },
  HANDSHAKE_HOOK_SECRET: {
    kind: 'string',
    default: '',
    help: 'Sent to the hook as Authorization: Bearer <secret>, and the key of addressHash (HMAC-SHA256 of the client address); unset: no header, and the key is the hook URL.',
  },
} as const satisfies Record<string, Setting>;

type SettingName = keyof typeof SETTINGS;

export type TrustProxy = boolean | number | string[];

/** One ADMIN_TOKENS entry: the operator's name (logs, the cloud log) and the secret. */
export interface AdminToken {
  readonly name: string;
  readonly token: string;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly metricsPort: number;
  readonly redisUrl: string | null;
  readonly redisKeyPrefix: string;
  readonly podId: string;
  readonly logLevel: string;
  readonly anonymizeAddresses: boolean;
  readonly trustProxy: TrustProxy;
  readonly maxConnections: number;
  readonly maxClientsPerRoom: number;
  readonly maxVariables: number;
  readonly maxValueLength: number;
  readonly allowTextValues: boolean;
  readonly maxRoomBytes: number;
  readonly allowRename: boolean;
  readonly allowDelete: boolean;
  readonly allowDuplicateUsernames: boolean;
  readonly maxRooms: number;
  readonly maxConnectionsPerAddress: number;
  readonly ipv6PrefixLength: number;
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly maxPayloadBytes: number;
  readonly floodLimitPerSecond: number;
  readonly floodBurst: number;
  readonly usernameBlockList: readonly string[];
  readonly leaseTtlMs: number;
  readonly roomTtlMs: number;
  readonly untouchedRoomTtlMs: number;
  readonly maxNewRoomsPerAddressPerMinute: number;
  /** 0: no limit. */
  readonly maxStoredBytesPerAddress: number;
  readonly maxHandshakesPerAddressPerSecond: number;
  /** Lower-cased origins; empty: any. */
  readonly allowedOrigins: readonly string[];
  /** Lower-cased words. */
  readonly blockedUserAgents: readonly string[];
  readonly requireUserAgent: boolean;
  readonly drainDelayMs: number;
  readonly drainBatchSize: number;
  readonly sendBufferLimitBytes: number;
  readonly slowConsumerTimeoutMs: number;
  readonly sendBufferPodLimitBytes: number;
  readonly maxStoreCallsInFlight: number;
  readonly flushIntervalMs: number;
  readonly roomLingerMs: number;
  readonly shutdownTimeoutMs: number;
  /** Empty: no admin API. */
  readonly adminTokens: readonly AdminToken[];
  readonly apiReadsNeedToken: boolean;
  readonly apiRateLimitPerMinute: number;
  readonly apiOperatorRateLimitPerMinute: number;
  readonly cloudLogLength: number;
  readonly liveViewersPerAddress: number;
  readonly maxLiveViewers: number;
  /** Null: no handshake hook. */
  readonly handshakeHook: HandshakeHookConfig | null;
}

export interface HandshakeHookConfig {
  readonly url: string;
  readonly timeoutMs: number;
  readonly cacheMs: number;
  readonly maxInFlight: number;
  /** True: a client is admitted when the hook is down. */
  readonly failOpen: boolean;
  /** Empty: no Authorization header. */
  readonly secret: string;
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function readInt(env: Env, name: SettingName): number {
  const setting = SETTINGS[name] as IntSetting;
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return setting.default;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  const max = setting.max ?? Number.MAX_SAFE_INTEGER;
  if (value < setting.min || value > max) {
    throw new ConfigError(`${name} must be between ${setting.min} and ${max}, got ${value}`);
  }
  return value;
}

function readString(env: Env, name: SettingName): string {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? (SETTINGS[name] as StringSetting).default : raw;
}

function readBool(env: Env, name: SettingName): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return (SETTINGS[name] as BoolSetting).default;
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  if (raw === 'false' || raw === '0' || raw === 'no') return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function readTrustProxy(env: Env): TrustProxy {
  const raw = readString(env, 'TRUST_PROXY').toLowerCase();
  if (raw === 'false' || raw === '0') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (entries.length === 0 || !entries.every((entry) => /^[0-9a-f.:]+(\/\d{1,3})?$/.test(entry))) {
    throw new ConfigError(`TRUST_PROXY must be true, false, a hop count or a comma list of IPs/CIDRs, got "${env.TRUST_PROXY}"`);
  }
  return entries;
}

/** A comma list, trimmed and lower-cased, empty entries dropped. */
function readList(env: Env, name: SettingName): string[] {
  return readString(env, name)
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
}

/** Origins as browsers send them: scheme://host[:port], no path. */
function readAllowedOrigins(env: Env): string[] {
  const origins = readList(env, 'ALLOWED_ORIGINS');
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(`ALLOWED_ORIGINS must list origins like https://example.org (scheme and host, no path), got "${origin}"`);
    }
  }
  return origins.map((origin) => origin.replace(/\/$/, ''));
}

/** Apart from PORT by default, so several gateways on one machine (PORT=9080, 9081) never collide. */
const METRICS_PORT_OFFSET = 10_000;

function readMetricsPort(env: Env): number {
  const raw = readString(env, 'METRICS_PORT');
  if (raw === '') {
    const port = readInt(env, 'PORT');
    if (port === 0) return 0;
    if (port + METRICS_PORT_OFFSET > 65535) throw new ConfigError(`METRICS_PORT must be set when PORT (${port}) + ${METRICS_PORT_OFFSET} is not a port`);
    return port + METRICS_PORT_OFFSET;
  }
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new ConfigError(`METRICS_PORT must be a port number (0-65535), got "${raw}"`);
  return Number(raw);
}

/** Validates the URL's scheme here; the Redis engine parses the rest when it connects. */
function readRedisUrl(env: Env): string | null {
  const raw = readString(env, 'REDIS_URL');
  if (raw === '') return null;
  if (!/^(rediss?|redis-sentinel|redis-cluster):\/\/./.test(raw)) {
    throw new ConfigError('REDIS_URL must start with redis://, rediss://, redis-sentinel:// or redis-cluster://');
  }
  return raw;
}

const ADMIN_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Printable ASCII but the list's comma: what fits in a header and in a secret file. */
const ADMIN_SECRET = /^[\x21-\x2b\x2d-\x7e]{16,256}$/;

/** ADMIN_TOKENS, or the file ADMIN_TOKENS_FILE names. Errors never show a token. */
function readAdminTokens(env: Env): readonly AdminToken[] {
  const inline = readString(env, 'ADMIN_TOKENS');
  const file = readString(env, 'ADMIN_TOKENS_FILE');
  if (inline !== '' && file !== '') throw new ConfigError('set ADMIN_TOKENS or ADMIN_TOKENS_FILE, not both');
  let source: 'ADMIN_TOKENS' | 'ADMIN_TOKENS_FILE' = 'ADMIN_TOKENS';
  let raw = inline;
  if (file !== '') {
    source = 'ADMIN_TOKENS_FILE';
    try {
      raw = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new ConfigError(`ADMIN_TOKENS_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const tokens: AdminToken[] = [];
  for (const [index, entry] of raw.split(',').map((part) => part.trim()).filter(Boolean).entries()) {
    const colon = entry.indexOf(':');
    const name = entry.slice(0, colon);
    const token = entry.slice(colon + 1);
    if (colon < 0 || !ADMIN_NAME.test(name)) {
      throw new ConfigError(`${source}: entry ${index + 1} must be name:token with a name of 1-64 characters of [A-Za-z0-9_.@-]`);
    }
    if (!ADMIN_SECRET.test(token)) {
      throw new ConfigError(`${source}: the token of "${name}" must be 16-256 printable characters without spaces or commas`);
    }
    if (tokens.some((other) => other.name === name)) throw new ConfigError(`${source}: the name "${name}" appears twice`);
    if (tokens.some((other) => other.token === token)) throw new ConfigError(`${source}: "${name}" reuses another entry's token`);
    tokens.push({ name, token });
  }
  return Object.freeze(tokens);
}

function readHandshakeHook(env: Env): HandshakeHookConfig | null {
  const url = readString(env, 'HANDSHAKE_HOOK_URL');
  const failMode = readString(env, 'HANDSHAKE_HOOK_FAIL_MODE').toLowerCase();
  if (failMode !== 'open' && failMode !== 'closed') throw new ConfigError(`HANDSHAKE_HOOK_FAIL_MODE must be open or closed, got "${env.HANDSHAKE_HOOK_FAIL_MODE}"`);
  const hook = {
    url,
    timeoutMs: readInt(env, 'HANDSHAKE_HOOK_TIMEOUT_MS'),
    cacheMs: readInt(env, 'HANDSHAKE_HOOK_CACHE_SECONDS') * 1000,
    maxInFlight: readInt(env, 'HANDSHAKE_HOOK_MAX_IN_FLIGHT'),
    failOpen: failMode === 'open',
    secret: readString(env, 'HANDSHAKE_HOOK_SECRET'),
  };
  if (url === '') return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('HANDSHAKE_HOOK_URL must be an http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError('HANDSHAKE_HOOK_URL must be an http:// or https:// URL');
  return Object.freeze(hook);
}

/** Parses and validates the whole environment. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const logLevel = readString(env, 'LOG_LEVEL');
  if (!LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}, got "${logLevel}"`);
  }
  const keyPrefix = readString(env, 'REDIS_KEY_PREFIX');
  if (/[{}\s]/.test(keyPrefix)) {
    throw new ConfigError('REDIS_KEY_PREFIX may not contain braces or spaces (they would break Redis Cluster hash tags)');
  }
  const rateLimitBurst = readInt(env, 'RATE_LIMIT_BURST');
  const config: Config = {
    port: readInt(env, 'PORT'),
    host: readString(env, 'HOST'),
    metricsPort: readMetricsPort(env),
    redisUrl: readRedisUrl(env),
    redisKeyPrefix: keyPrefix,
    podId: readString(env, 'POD_ID') || hostname(),
    logLevel,
    anonymizeAddresses: readBool(env, 'ANONYMIZE_ADDRESSES'),
    trustProxy: readTrustProxy(env),
    maxConnections: readInt(env, 'MAX_CONNECTIONS'),
    maxClientsPerRoom: readInt(env, 'MAX_CLIENTS_PER_ROOM'),
    maxVariables: readInt(env, 'MAX_VARIABLES'),
    maxValueLength: readInt(env, 'MAX_VALUE_LENGTH'),
    allowTextValues: readBool(env, 'ALLOW_TEXT_VALUES'),
    maxRoomBytes: readInt(env, 'MAX_ROOM_BYTES'),
    allowRename: readBool(env, 'ALLOW_RENAME'),
    allowDelete: readBool(env, 'ALLOW_DELETE'),
    allowDuplicateUsernames: readBool(env, 'ALLOW_DUPLICATE_USERNAMES'),
    maxRooms: readInt(env, 'MAX_ROOMS'),
    maxConnectionsPerAddress: readInt(env, 'MAX_CONNECTIONS_PER_ADDRESS'),
    ipv6PrefixLength: readInt(env, 'IPV6_PREFIX_LENGTH'),
    rateLimitPerSecond: readInt(env, 'RATE_LIMIT_PER_SECOND'),
    rateLimitBurst,
    handshakeTimeoutMs: readInt(env, 'HANDSHAKE_TIMEOUT_MS'),
    pingIntervalMs: readInt(env, 'PING_INTERVAL_MS'),
    maxPayloadBytes: readInt(env, 'MAX_PAYLOAD_BYTES'),
    floodLimitPerSecond: readInt(env, 'FLOOD_LIMIT_PER_SECOND'),
    floodBurst: readInt(env, 'FLOOD_BURST'),
    usernameBlockList: readString(env, 'USERNAME_BLOCKLIST')
      .split(',')
      .map((word) => word.trim().toLowerCase())
      .filter(Boolean),
    leaseTtlMs: readInt(env, 'LEASE_TTL_MS'),
    roomTtlMs: readInt(env, 'ROOM_TTL_SECONDS') * 1000,
    untouchedRoomTtlMs: readInt(env, 'UNTOUCHED_ROOM_TTL_SECONDS') * 1000,
    maxNewRoomsPerAddressPerMinute: readInt(env, 'MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE'),
    maxStoredBytesPerAddress: readInt(env, 'MAX_STORED_BYTES_PER_ADDRESS'),
    maxHandshakesPerAddressPerSecond: readInt(env, 'MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND'),
    allowedOrigins: readAllowedOrigins(env),
    blockedUserAgents: readList(env, 'BLOCKED_USER_AGENTS'),
    requireUserAgent: readBool(env, 'REQUIRE_USER_AGENT'),
    drainDelayMs: readInt(env, 'DRAIN_DELAY_MS'),
    drainBatchSize: readInt(env, 'DRAIN_BATCH_SIZE'),
    sendBufferLimitBytes: readInt(env, 'SEND_BUFFER_LIMIT_BYTES'),
    slowConsumerTimeoutMs: readInt(env, 'SLOW_CONSUMER_TIMEOUT_MS'),
    sendBufferPodLimitBytes: readInt(env, 'SEND_BUFFER_POD_LIMIT_BYTES'),
    maxStoreCallsInFlight: readInt(env, 'MAX_STORE_CALLS_IN_FLIGHT'),
    flushIntervalMs: readInt(env, 'FLUSH_INTERVAL_MS'),
    roomLingerMs: readInt(env, 'ROOM_LINGER_MS'),
    shutdownTimeoutMs: readInt(env, 'SHUTDOWN_TIMEOUT_MS'),
    adminTokens: readAdminTokens(env),
    apiReadsNeedToken: readBool(env, 'API_READS_NEED_TOKEN'),
    apiRateLimitPerMinute: readInt(env, 'API_RATE_LIMIT_PER_MINUTE'),
    apiOperatorRateLimitPerMinute: readInt(env, 'API_OPERATOR_RATE_LIMIT_PER_MINUTE'),
    cloudLogLength: readInt(env, 'CLOUD_LOG_LENGTH'),
    liveViewersPerAddress: readInt(env, 'LIVE_VIEWERS_PER_ADDRESS'),
    maxLiveViewers: readInt(env, 'MAX_LIVE_VIEWERS'),
    handshakeHook: readHandshakeHook(env),
  };
  if (config.apiReadsNeedToken && config.adminTokens.length === 0) {
    throw new ConfigError('API_READS_NEED_TOKEN=true needs ADMIN_TOKENS (or ADMIN_TOKENS_FILE): no read could pass');
  }
  return Object.freeze(config);
}

/** A connection-id namespace unique to this process, so a restarted pod never reuses an id. */
export function makeInstanceId(podId: string): string {
  return `${podId}-${randomBytes(4).toString('hex')}`;
}
