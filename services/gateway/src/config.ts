/**
 * The gateway's settings: the only module that reads `process.env`. Each setting is declared
 * once in `SETTINGS` (its variable, the Config field it fills, its default, its meaning and how
 * its text is read), `Config` is derived from those declarations, and the README's settings
 * table is generated from them (`pnpm settings:readme`; a test fails while it is stale). Every
 * setting is validated once at start; a bad value throws a ConfigError that names the variable,
 * and main.ts stops the process with it.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class ConfigError extends Error {
  readonly code = 'CV_ERR_CONFIG';
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * One environment variable. `field` is the Config field it fills, or null for a part of a field
 * built from several variables (`adminTokens`, `handshakeHook`: see COMPOSITES). `default` is
 * what the README shows, `help` its meaning column (markdown: the table is generated from it);
 * `read` gets the variable's trimmed text ('' when unset) and throws a ConfigError naming the
 * variable for a bad one.
 */
interface Setting<Field extends string | null, Value, Default extends number | string | boolean> {
  readonly field: Field;
  readonly default: Default;
  readonly help: string;
  readonly read: (text: string, name: string, env: Env) => Value;
}

interface Described<Default> {
  readonly default: Default;
  readonly help: string;
}

interface IntBounds extends Described<number> {
  readonly min: number;
  readonly max?: number;
}

/** A whole number within [min, max]. */
function int<const Field extends string | null>(field: Field, spec: IntBounds): Setting<Field, number, number> & IntBounds {
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const read = (text: string, name: string): number => {
    if (text === '') return spec.default;
    if (!/^\d+$/.test(text)) throw new ConfigError(`${name} must be a whole number, got "${text}"`);
    const value = Number(text);
    if (value < spec.min || value > max) throw new ConfigError(`${name} must be between ${spec.min} and ${max}, got ${value}`);
    return value;
  };
  return { ...spec, field, read };
}

/** A duration the operator writes in seconds and the gateway uses in milliseconds. */
function secondsAsMs<const Field extends string | null>(field: Field, spec: IntBounds): Setting<Field, number, number> & IntBounds {
  const seconds = int(field, spec);
  return { ...seconds, read: (text, name, env) => seconds.read(text, name, env) * 1000 };
}

function bool<const Field extends string | null>(field: Field, spec: Described<boolean>): Setting<Field, boolean, boolean> {
  const read = (text: string, name: string): boolean => {
    const lower = text.toLowerCase();
    if (lower === '') return spec.default;
    if (lower === 'true' || lower === '1' || lower === 'yes') return true;
    if (lower === 'false' || lower === '0' || lower === 'no') return false;
    throw new ConfigError(`${name} must be true or false, got "${text}"`);
  };
  return { ...spec, field, read };
}

interface ParsedText<Value> extends Described<string> {
  /** Reads the text (the default when unset); throws a ConfigError naming `name` for a bad one. */
  readonly parse: (text: string, name: string, env: Env) => Value;
}

/** Text, the default when unset, then read by `parse` (which validates it). */
function parsedText<const Field extends string | null, Value>(field: Field, spec: ParsedText<Value>): Setting<Field, Value, string> {
  const { parse, ...described } = spec;
  return { ...described, field, read: (text, name, env) => parse(text === '' ? spec.default : text, name, env) };
}

function text<const Field extends string | null>(field: Field, spec: Described<string>): Setting<Field, string, string> {
  return parsedText(field, { ...spec, parse: (value) => value });
}

const DAY_SECONDS = 24 * 60 * 60;

/** Every environment variable the gateway reads, in the README table's order. */
export const SETTINGS = {
  PORT: int('port', { default: 9080, min: 0, max: 65_535, help: 'TCP port for HTTP and WebSocket (0 picks a free one).' }),
  HOST: text('host', { default: '0.0.0.0', help: 'Address to listen on.' }),
  METRICS_PORT: parsedText('metricsPort', {
    default: '',
    help: 'TCP port of GET /metrics (Prometheus), apart from the public port so the load balancer never routes it. Unset: PORT + 10000 (19080), or any free port when PORT is 0.',
    parse: readMetricsPort,
  }),
  REDIS_URL: parsedText('redisUrl', {
    default: '',
    help: 'Unset: one node, rooms in memory. Else redis://, rediss://, redis-sentinel:// or redis-cluster:// (see packages/rooms/src/redis/README.md).',
    parse: readRedisUrl,
  }),
  REDIS_KEY_PREFIX: parsedText('redisKeyPrefix', { default: 'cv:', help: 'Prefix of every Redis key and channel.', parse: readKeyPrefix }),
  POD_ID: parsedText('podId', { default: '', help: 'Name of this pod in logs and connection ids (default: hostname).', parse: (text) => text || hostname() }),
  LOG_LEVEL: parsedText('logLevel', { default: 'info', help: 'pino level: fatal, error, warn, info, debug, trace, silent.', parse: readLogLevel }),
  ANONYMIZE_ADDRESSES: bool('anonymizeAddresses', { default: false, help: 'Log client addresses truncated (IPv4 /24, IPv6 /48).' }),
  TRUST_PROXY: parsedText('trustProxy', {
    default: 'false',
    help: 'Take the client address from X-Forwarded-For: false, true, a hop count, or a comma list of proxy IPs/CIDRs.',
    parse: readTrustProxy,
  }),
  MAX_CONNECTIONS: int('maxConnections', {
    default: 20_000,
    min: 1,
    help: 'Connections per pod; beyond, upgrades get HTTP 503 + Retry-After (a load balancer retries another pod).',
  }),
  MAX_CLIENTS_PER_ROOM: int('maxClientsPerRoom', {
    default: 100,
    min: 1,
    help: 'Clients per room across the cluster (beyond: 1013, try again later; 2020 clients: 4003).',
  }),
  MAX_VARIABLES: int('maxVariables', {
    default: 128,
    min: 1,
    max: 1000,
    help: "Variables per room, as TurboWarp's server allows: a 2020 handshake declaring more is refused (4000); a Scratch 3 set creating one more is ignored and counted.",
  }),
  MAX_VALUE_LENGTH: int('maxValueLength', {
    default: 100_000,
    min: 1,
    max: 10_000_000,
    help: "Longest value in characters, as TurboWarp's server allows (Scratch: 256); longer values are ignored.",
  }),
  ALLOW_TEXT_VALUES: bool('allowTextValues', { default: false, help: 'Accept any text as a value, not only numbers (every dialect).' }),
  MAX_ROOM_BYTES: int('maxRoomBytes', {
    default: 1024 * 1024,
    min: 1024,
    help: 'Bytes of names and values one room may hold, on every way in: a set or rename that would grow a room beyond it is ignored and counted (one that does not grow it applies); a 2020 handshake stores initial values beyond it as "0", and is refused (4003) when its names alone do not fit.',
  }),
  ALLOW_RENAME: bool('allowRename', { default: false, help: "Apply Scratch 3 rename messages (off, as on TurboWarp's server: ignored)." }),
  ALLOW_DELETE: bool('allowDelete', { default: false, help: "Apply Scratch 3 delete messages (off, as on TurboWarp's server: ignored)." }),
  ALLOW_DUPLICATE_USERNAMES: bool('allowDuplicateUsernames', {
    default: true,
    help: 'Let Scratch 3 clients share a username in a room (generated names, one person in two tabs); 2020 clients always need a free one.',
  }),
  MAX_ROOMS: int('maxRooms', { default: 100_000, min: 1, help: 'Active rooms across the cluster (beyond: 1013, try again later; 2020 clients: 4003).' }),
  IPV6_PREFIX_LENGTH: int('ipv6PrefixLength', {
    default: 64,
    min: 1,
    max: 128,
    help: 'IPv6 addresses count toward every per-address limit by this prefix (a /64 is one subscriber); IPv4 addresses one by one.',
  }),
  MAX_CONNECTIONS_PER_ADDRESS: int('maxConnectionsPerAddress', {
    default: 1000,
    min: 1,
    help: 'Connections per client address (a school behind one NAT address is one): beyond it on one pod, upgrades get HTTP 429; joined clients beyond it across the cluster, 1013 (2020 clients: 4003).',
  }),
  RATE_LIMIT_PER_SECOND: int('rateLimitPerSecond', {
    default: 30,
    min: 1,
    help: "Sets per second per connection, sustained: beyond, 2020 clients are closed (4004); Scratch 3 clients' sets wait, newest value per variable.",
  }),
  RATE_LIMIT_BURST: int('rateLimitBurst', { default: 30, min: 1, help: 'Messages a connection may send at once (token bucket size).' }),
  HANDSHAKE_TIMEOUT_MS: int('handshakeTimeoutMs', { default: 30_000, min: 100, help: 'Close (4000) a connection that has not sent its handshake by then.' }),
  PING_INTERVAL_MS: int('pingIntervalMs', { default: 30_000, min: 100, help: 'Ping period; a client that missed the previous pong is dropped.' }),
  MAX_PAYLOAD_BYTES: int('maxPayloadBytes', { default: 1024 * 1024, min: 1024, help: "Largest client frame (1009 beyond), as on TurboWarp's server." }),
  FLOOD_LIMIT_PER_SECOND: int('floodLimitPerSecond', {
    default: 300,
    min: 1,
    help: 'Frames per second a Scratch 3 connection is read at, sustained, once FLOOD_BURST is spent (each 4 KiB counts as one more frame): beyond, its socket is not read until it is back within the rate (TCP pushes back on that client alone); nothing is closed or lost.',
  }),
  FLOOD_BURST: int('floodBurst', {
    default: 10_000,
    min: 1,
    help: 'Frames a Scratch 3 connection may send at once before FLOOD_LIMIT_PER_SECOND paces it (a bot setting 10,000 values in a loop is read at once; its sets wait for RATE_LIMIT_PER_SECOND, newest value per variable).',
  }),
  USERNAME_BLOCKLIST: parsedText('usernameBlockList', {
    default: '',
    help: 'Comma list of words a username may not contain (case-insensitive; 4002).',
    parse: readList,
  }),
  LEASE_TTL_MS: int('leaseTtlMs', { default: 15_000, min: 1000, help: "A dead pod's usernames and slots are freed within this time." }),
  UNTOUCHED_ROOM_TTL_SECONDS: secondsAsMs('untouchedRoomTtlMs', {
    default: 600,
    min: 0,
    help: 'A room nobody changed since its creation (no value but its initial ones) is forgotten this long after its last member left; 0 = ROOM_TTL_SECONDS.',
  }),
  MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE: int('maxNewRoomsPerAddressPerMinute', {
    default: 1000,
    min: 1,
    help: 'Rooms one address may create a minute, across the cluster (1013 beyond; 2020 clients: 4003), so a class of 300 each opening a new project gets in, and what one address can make the store keep is bounded (README "What one address can make Redis hold").',
  }),
  /** 0: no limit. */
  MAX_STORED_BYTES_PER_ADDRESS: int('maxStoredBytesPerAddress', {
    default: 512 * 1024 * 1024,
    min: 0,
    help: 'Bytes one address\'s sets may have grown rooms by, across the cluster, each room counted at the most it held (with its cloud log and 580 bytes of its own) until `ROOM_TTL_SECONDS` after the address last was in it: beyond, its sets that would grow a room further are ignored and counted (its other sets and its joins apply), so what one address can make the store keep is bounded ("What one address can make Redis hold"); 300 pupils each filling a room of `MAX_ROOM_BYTES` stay under it. 0: no limit.',
  }),
  MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND: int('maxHandshakesPerAddressPerSecond', {
    default: 100,
    min: 1,
    help: "WebSocket upgrades one address may make a second, across the cluster (HTTP 429 beyond): a lab of 300 opening a project at once is in within a few seconds of its clients' back-off.",
  }),
  ALLOWED_ORIGINS: parsedText('allowedOrigins', {
    default: '',
    help: "Comma list of origins (https://example.org) browsers may connect from (HTTP 403 for others); unset: any. Always let in: clients that send no Origin, and an Origin naming the server's own Host (what Python's websocket-client, hence scratchattach, sends; a page of this server).",
    parse: readAllowedOrigins,
  }),
  BLOCKED_USER_AGENTS: parsedText('blockedUserAgents', {
    default: '',
    help: "Comma list of words: a client whose User-Agent contains one (case-insensitive) is closed with 4006, the close frame's reason saying why.",
    parse: readList,
  }),
  REQUIRE_USER_AGENT: bool('requireUserAgent', {
    default: false,
    help: "Close (4006) clients that send no User-Agent, as TurboWarp's server can: bots must identify themselves.",
  }),
  ROOM_TTL_SECONDS: secondsAsMs('roomTtlMs', { default: 30 * DAY_SECONDS, min: 0, help: 'Empty rooms are forgotten after this long; 0 = never.' }),
  DRAIN_DELAY_MS: int('drainDelayMs', {
    default: 3000,
    min: 0,
    help: 'On SIGTERM, keep serving this long with /readyz failing, so the load balancer stops sending.',
  }),
  DRAIN_BATCH_SIZE: int('drainBatchSize', { default: 200, min: 1, help: 'Clients closed (1012) per batch while draining.' }),
  SEND_BUFFER_LIMIT_BYTES: int('sendBufferLimitBytes', {
    default: 1024 * 1024,
    min: 1024,
    help: 'A client whose unsent data stays above this for SLOW_CONSUMER_TIMEOUT_MS is dropped (1008).',
  }),
  SEND_BUFFER_POD_LIMIT_BYTES: int('sendBufferPodLimitBytes', {
    default: 256 * 1024 * 1024,
    min: 1024,
    help: 'Unsent data all clients and live room pages of the pod may hold together; beyond, those holding the most are dropped (1008) first.',
  }),
  MAX_STORE_CALLS_IN_FLIGHT: int('maxStoreCallsInFlight', {
    default: 1000,
    min: 1,
    help: "Clients' changes waiting for the store's answer on this pod; at this many, clients that send are not read (TCP pushes back) until half of them are answered, or the pod's next 1 s sweep finds fewer.",
  }),
  ROOM_LINGER_MS: int('roomLingerMs', {
    default: 5000,
    min: 0,
    help: 'An emptied room stays subscribed this long on a pod, so a page reload costs no resubscribe.',
  }),
  FLUSH_INTERVAL_MS: int('flushIntervalMs', {
    default: 16,
    min: 0,
    max: 1000,
    help: "The pod's frame tick: each client is written at most one frame per tick. An update for a client written no frame in its last 3 ticks leaves at once (at the end of its event-loop turn); while a client is written more often, its updates wait for the next tick and go out together, so frames carry more updates as load rises. 16: 62.5 frames a second at most, no slower than a 60 FPS project draws. 0: every turn, no tick.",
  }),
  SLOW_CONSUMER_TIMEOUT_MS: int('slowConsumerTimeoutMs', {
    default: 10_000,
    min: 100,
    help: 'How long a client may stay above SEND_BUFFER_LIMIT_BYTES; meanwhile its updates are coalesced.',
  }),
  SHUTDOWN_TIMEOUT_MS: int('shutdownTimeoutMs', { default: 30_000, min: 1000, help: "Hard limit on a drain; keep it below the orchestrator's grace period." }),
  ADMIN_TOKENS: text(null, {
    default: '',
    help: "Comma list of `name:token` pairs for the [HTTP API](#http-api)'s admin calls (`Authorization: Bearer <token>`; tokens of 16-256 printable characters, no spaces or commas). The name appears in the audit log and, for a set, in the room's cloud log. Unset: no admin API (404). Keep it in a secret.",
  }),
  ADMIN_TOKENS_FILE: text(null, { default: '', help: 'A file holding the `ADMIN_TOKENS` list (a mounted secret), read at start; instead of `ADMIN_TOKENS`.' }),
  API_READS_NEED_TOKEN: bool('apiReadsNeedToken', {
    default: false,
    help: 'Room reads (`GET /api/v1/rooms/...`, the live room page) need an admin token too; off, they are public, as cloud values are on Scratch.',
  }),
  API_RATE_LIMIT_PER_MINUTE: int('apiRateLimitPerMinute', {
    default: 300,
    min: 1,
    help: "HTTP API calls per client address per minute, across the cluster (HTTP 429 with `Retry-After` beyond); an operator's calls (a valid admin token) count apart.",
  }),
  API_OPERATOR_RATE_LIMIT_PER_MINUTE: int('apiOperatorRateLimitPerMinute', {
    default: 6000,
    min: 1,
    help: "HTTP API calls per operator (admin token) per minute, across the cluster (HTTP 429 beyond), counted apart from its address's, so players behind the same address cannot starve it; high enough for a backend that owns protected variables.",
  }),
  CLOUD_LOG_LENGTH: int('cloudLogLength', {
    default: 100,
    min: 0,
    max: 10_000,
    help: "Changes each room's cloud log keeps (`GET /api/v1/rooms/{room}/log`); names are logged cut to 256 bytes and values to 1 KiB, so an entry costs Redis at most about 1.6 KB (160 KB a room at 100), outside `MAX_ROOM_BYTES`; 0 keeps none.",
  }),
  LIVE_VIEWERS_PER_ADDRESS: int('liveViewersPerAddress', {
    default: 10,
    min: 1,
    help: 'Live room page subscriptions per client address on one pod (HTTP 429 beyond).',
  }),
  MAX_LIVE_VIEWERS: int('maxLiveViewers', { default: 1000, min: 1, help: 'Live room page subscriptions per pod (HTTP 503 beyond).' }),
  HANDSHAKE_HOOK_URL: text(null, {
    default: '',
    help: 'http(s) URL the gateway POSTs each handshake to before admitting the client ("Handshake hook" below): the answer admits, refuses (4002, 4004) or renames the user. Unset: no hook.',
  }),
  HANDSHAKE_HOOK_TIMEOUT_MS: int(null, {
    default: 1000,
    min: 10,
    max: 30_000,
    help: 'A hook answer later than this counts as the hook being down (`HANDSHAKE_HOOK_FAIL_MODE` decides).',
  }),
  HANDSHAKE_HOOK_CACHE_SECONDS: secondsAsMs(null, {
    default: 60,
    min: 0,
    max: DAY_SECONDS,
    help: 'A hook answer (admit, refuse, rename) is reused this long, per pod, for the same project, user, dialect, User-Agent, Origin and address; 0: every handshake asks.',
  }),
  HANDSHAKE_HOOK_MAX_IN_FLIGHT: int(null, {
    default: 100,
    min: 1,
    help: 'Hook calls one pod makes at once; a handshake beyond them is treated as the hook being down, so a slow hook cannot pile up joins.',
  }),
  HANDSHAKE_HOOK_FAIL_MODE: parsedText(null, {
    default: 'open',
    help: 'When the hook is down (no answer in time, an error, any answer but the documented ones, too many calls at once): `open` admits the client as it asked; `closed` refuses it with 1011 (every client retries).',
    parse: readFailOpen,
  }),
  HANDSHAKE_HOOK_SECRET: text(null, {
    default: '',
    help: 'Sent to the hook as `Authorization: Bearer <secret>`, and the key of `addressHash` (HMAC-SHA256 of the client address); unset: no header, and the key is the hook URL, which lets the service recover IPv4 addresses (a warning at start).',
  }),
} as const;

type Settings = typeof SETTINGS;
type SettingName = keyof Settings;
type ValueOf<Name extends SettingName> = ReturnType<Settings[Name]['read']>;

/** Reads one setting from the environment. */
function read<Name extends SettingName>(env: Env, name: Name): ValueOf<Name> {
  const setting: Setting<string | null, unknown, number | string | boolean> = SETTINGS[name];
  // The declaration of `name` is the one whose `read` returned the value: its type is ValueOf<Name>.
  return setting.read(env[name]?.trim() ?? '', name, env) as ValueOf<Name>;
}

export type TrustProxy = boolean | number | string[];

/** One ADMIN_TOKENS entry: the operator's name (logs, the cloud log) and the secret. */
export interface AdminToken {
  readonly name: string;
  readonly token: string;
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

function readLogLevel(level: string, name: string): string {
  if (!LOG_LEVELS.has(level)) throw new ConfigError(`${name} must be one of ${[...LOG_LEVELS].join(', ')}, got "${level}"`);
  return level;
}

function readKeyPrefix(prefix: string, name: string): string {
  if (/[{}\s]/.test(prefix)) throw new ConfigError(`${name} may not contain braces or spaces (they would break Redis Cluster hash tags)`);
  return prefix;
}

function readTrustProxy(text: string, name: string): TrustProxy {
  const lower = text.toLowerCase();
  if (lower === 'false' || lower === '0') return false;
  if (lower === 'true') return true;
  if (/^\d+$/.test(lower)) return Number(lower);
  const entries = lower
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0 || !entries.every((entry) => /^[0-9a-f.:]+(\/\d{1,3})?$/.test(entry))) {
    throw new ConfigError(`${name} must be true, false, a hop count or a comma list of IPs/CIDRs, got "${text}"`);
  }
  return entries;
}

/** A comma list, trimmed and lower-cased, empty entries dropped. */
function readList(text: string): readonly string[] {
  return text
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
}

/** Origins as browsers send them, scheme://host[:port] with no path, lower-cased; empty: any. */
function readAllowedOrigins(text: string, name: string): readonly string[] {
  const origins = readList(text);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(`${name} must list origins like https://example.org (scheme and host, no path), got "${origin}"`);
    }
  }
  return origins.map((origin) => origin.replace(/\/$/, ''));
}

/** Apart from PORT by default, so several gateways on one machine (PORT=9080, 9081) never collide. */
const METRICS_PORT_OFFSET = 10_000;

function readMetricsPort(text: string, name: string, env: Env): number {
  if (text === '') {
    const port = read(env, 'PORT');
    if (port === 0) return 0;
    if (port + METRICS_PORT_OFFSET > 65535) throw new ConfigError(`${name} must be set when PORT (${port}) + ${METRICS_PORT_OFFSET} is not a port`);
    return port + METRICS_PORT_OFFSET;
  }
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new ConfigError(`${name} must be a port number (0-65535), got "${text}"`);
  return Number(text);
}

/** Validates the URL's scheme here; the Redis engine parses the rest when it connects. Null: rooms in memory. */
function readRedisUrl(url: string, name: string): string | null {
  if (url === '') return null;
  if (!/^(rediss?|redis-sentinel|redis-cluster):\/\/./.test(url)) {
    throw new ConfigError(`${name} must start with redis://, rediss://, redis-sentinel:// or redis-cluster://`);
  }
  return url;
}

/** True: fail open. */
function readFailOpen(mode: string, name: string): boolean {
  const lower = mode.toLowerCase();
  if (lower !== 'open' && lower !== 'closed') throw new ConfigError(`${name} must be open or closed, got "${mode}"`);
  return lower === 'open';
}

const ADMIN_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Printable ASCII but the list's comma: what fits in a header and in a secret file. */
const ADMIN_SECRET = /^[\x21-\x2b\x2d-\x7e]{16,256}$/;

/** ADMIN_TOKENS, or the file ADMIN_TOKENS_FILE names; empty: no admin API. Errors never show a token. */
function readAdminTokens(env: Env): readonly AdminToken[] {
  const inline = read(env, 'ADMIN_TOKENS');
  const file = read(env, 'ADMIN_TOKENS_FILE');
  if (inline !== '' && file !== '') throw new ConfigError('set ADMIN_TOKENS or ADMIN_TOKENS_FILE, not both');
  const source = file === '' ? 'ADMIN_TOKENS' : 'ADMIN_TOKENS_FILE';
  const raw = file === '' ? inline : readSecretFile(file);
  const tokens: AdminToken[] = [];
  for (const [index, entry] of raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .entries()) {
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

function readSecretFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`ADMIN_TOKENS_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Null while HANDSHAKE_HOOK_URL is unset: no hook. Its other settings are validated either way. */
function readHandshakeHook(env: Env): HandshakeHookConfig | null {
  const url = read(env, 'HANDSHAKE_HOOK_URL');
  const hook = {
    url,
    timeoutMs: read(env, 'HANDSHAKE_HOOK_TIMEOUT_MS'),
    cacheMs: read(env, 'HANDSHAKE_HOOK_CACHE_SECONDS'),
    maxInFlight: read(env, 'HANDSHAKE_HOOK_MAX_IN_FLIGHT'),
    failOpen: read(env, 'HANDSHAKE_HOOK_FAIL_MODE'),
    secret: read(env, 'HANDSHAKE_HOOK_SECRET'),
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

/** The Config fields read from several variables each (their settings have a null field). */
const COMPOSITES = { adminTokens: readAdminTokens, handshakeHook: readHandshakeHook } as const;

type FieldOf<Name extends SettingName> = Settings[Name]['field'];

/** Every field a setting of its own fills, with the type its `read` returns, and the composites. */
export type Config = {
  readonly [Name in SettingName as FieldOf<Name> extends string ? FieldOf<Name> : never]: ValueOf<Name>;
} & { readonly [Field in keyof typeof COMPOSITES]: ReturnType<(typeof COMPOSITES)[Field]> };

/** Parses and validates the whole environment. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const fields: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const { field } = SETTINGS[name];
    if (field !== null) fields[field] = read(env, name);
  }
  for (const [field, readComposite] of Object.entries(COMPOSITES)) fields[field] = readComposite(env);
  // Every field of Config is filled above: one per setting with a field, one per composite.
  const config = fields as Config;
  if (config.apiReadsNeedToken && config.adminTokens.length === 0) {
    throw new ConfigError('API_READS_NEED_TOKEN=true needs ADMIN_TOKENS (or ADMIN_TOKENS_FILE): no read could pass');
  }
  return Object.freeze(config);
}

/** A connection-id namespace unique to this process, so a restarted pod never reuses an id. */
export function makeInstanceId(podId: string): string {
  return `${podId}-${randomBytes(4).toString('hex')}`;
}
