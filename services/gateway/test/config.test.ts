/**
 * loadConfig against the README's settings table (the operator's documentation is the
 * oracle for defaults), every kind of bad value, and the real process refusing to start.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SETTINGS, type Config } from '../src/config.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The README table's default column, by variable name. */
function documentedDefaults(): Map<string, string> {
  return new Map([...README.matchAll(/^\| `([A-Z0-9_]+)` \| `([^`]*)` \|/gm)].map((match) => [match[1] ?? '', match[2] ?? '']));
}

const int = (text: string): number => Number(text);

/** Settings whose Config field is not the camel-cased name, or whose text reads specially. */
const IRREGULAR: Record<string, readonly [keyof Config, (text: string) => unknown]> = {
  REDIS_URL: ['redisUrl', (text) => (text === '(unset)' ? null : text)],
  POD_ID: ['podId', (text) => (text === '(unset)' ? hostname() : text)],
  TRUST_PROXY: ['trustProxy', (text) => (text === 'false' ? false : text === 'true' ? true : text)],
  USERNAME_BLOCKLIST: ['usernameBlockList', (text) => (text === '(unset)' ? [] : text.split(','))],
  ROOM_TTL_SECONDS: ['roomTtlMs', (text) => int(text) * 1000],
  UNTOUCHED_ROOM_TTL_SECONDS: ['untouchedRoomTtlMs', (text) => int(text) * 1000],
  ALLOWED_ORIGINS: ['allowedOrigins', (text) => (text === '(unset)' ? [] : text.split(','))],
  BLOCKED_USER_AGENTS: ['blockedUserAgents', (text) => (text === '(unset)' ? [] : text.split(','))],
  // Unset: PORT + 10000, so two gateways on one machine (9080, 9081) do not collide.
  METRICS_PORT: ['metricsPort', (text) => (text === '(unset)' ? 19_080 : int(text))],
  // Both read into one list of operators (api-config.test.ts); unset, there is none.
  ADMIN_TOKENS: ['adminTokens', () => []],
  ADMIN_TOKENS_FILE: ['adminTokens', () => []],
  // Read into one object, null while HANDSHAKE_HOOK_URL is unset (its defaults: the test below).
  HANDSHAKE_HOOK_URL: ['handshakeHook', () => null],
  HANDSHAKE_HOOK_TIMEOUT_MS: ['handshakeHook', () => null],
  HANDSHAKE_HOOK_CACHE_SECONDS: ['handshakeHook', () => null],
  HANDSHAKE_HOOK_MAX_IN_FLIGHT: ['handshakeHook', () => null],
  HANDSHAKE_HOOK_FAIL_MODE: ['handshakeHook', () => null],
  HANDSHAKE_HOOK_SECRET: ['handshakeHook', () => null],
};

/** MAX_CONNECTIONS_PER_ADDRESS -> maxConnectionsPerAddress. */
function camelCase(name: string): string {
  return name.toLowerCase().replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/** How a documented default reads as the Config value the gateway uses. */
function expectedValue(name: string, text: string): { field: string; value: unknown } {
  const irregular = IRREGULAR[name];
  if (irregular !== undefined) return { field: irregular[0], value: irregular[1](text) };
  const value = text === '(unset)' ? '' : /^\d+$/.test(text) ? int(text) : text === 'true' || text === 'false' ? text === 'true' : text;
  return { field: camelCase(name), value };
}

describe('loadConfig', () => {
  it("reads the handshake hook's settings with the README's defaults once its URL is set, and refuses bad ones", () => {
    const documented = documentedDefaults();
    const hook = loadConfig({ HANDSHAKE_HOOK_URL: 'http://127.0.0.1:8099/check' }).handshakeHook;
    expect(hook).toEqual({
      url: 'http://127.0.0.1:8099/check',
      timeoutMs: Number(documented.get('HANDSHAKE_HOOK_TIMEOUT_MS')),
      cacheMs: Number(documented.get('HANDSHAKE_HOOK_CACHE_SECONDS')) * 1000,
      maxInFlight: Number(documented.get('HANDSHAKE_HOOK_MAX_IN_FLIGHT')),
      failOpen: documented.get('HANDSHAKE_HOOK_FAIL_MODE') === 'open',
      secret: '',
    });
    expect(() => loadConfig({ HANDSHAKE_HOOK_URL: 'ftp://example.org/' })).toThrow(/HANDSHAKE_HOOK_URL/);
    expect(() => loadConfig({ HANDSHAKE_HOOK_FAIL_MODE: 'sometimes' })).toThrow(/HANDSHAKE_HOOK_FAIL_MODE/);
  });

  it("applies the README table's default for every documented setting", () => {
    const config = loadConfig({}) as unknown as Readonly<Record<string, unknown>>;
    const documented = documentedDefaults();
    expect(documented.size).toBeGreaterThan(20);
    for (const [name, text] of documented) {
      const { field, value } = expectedValue(name, text);
      expect(Object.hasOwn(config, field), `${name} -> Config.${field}`).toBe(true);
      expect(config[field], name).toEqual(value);
    }
  });

  it('finds a README row for every setting, names with digits included (IPV6_PREFIX_LENGTH)', () => {
    expect([...documentedDefaults().keys()].sort()).toEqual(Object.keys(SETTINGS).sort());
  });

  it("defaults to the protocol's numbers, and to TurboWarp's server's where existing projects rely on them", () => {
    expect(loadConfig({})).toMatchObject({
      port: 9080,
      maxClientsPerRoom: 100,
      rateLimitPerSecond: 30,
      rateLimitBurst: 30,
      handshakeTimeoutMs: 30_000,
      pingIntervalMs: 30_000,
      redisUrl: null,
      // TurboWarp's server: 128 variables a room, values of 100,000 characters, 1 MiB frames.
      maxVariables: 128,
      maxValueLength: 100_000,
      maxPayloadBytes: 1024 * 1024,
      allowTextValues: false,
      allowRename: false,
      allowDelete: false,
      allowDuplicateUsernames: true,
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['MAX_CONNECTIONS', '0'],
    ['HANDSHAKE_TIMEOUT_MS', '99'],
    ['MAX_PAYLOAD_BYTES', '1023'],
    ['RATE_LIMIT_BURST', '1e3'],
    ['TRUST_PROXY', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['REDIS_URL', 'http://x'],
    ['REDIS_URL', 'localhost:6379'],
    ['REDIS_KEY_PREFIX', 'a{b}'],
    ['ANONYMIZE_ADDRESSES', 'maybe'],
    ['IPV6_PREFIX_LENGTH', '129'],
    ['MAX_VARIABLES', '1001'],
    ['METRICS_PORT', '70000'],
    ['ROOM_TTL_SECONDS', '1h'],
    ['ALLOWED_ORIGINS', 'https://example.org/page'],
    ['HANDSHAKE_HOOK_TIMEOUT_MS', '5'],
    ['HANDSHAKE_HOOK_CACHE_SECONDS', '-1'],
  ])('throws a ConfigError naming %s for %j', (name, value) => {
    let thrown: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).code).toBe('CV_ERR_CONFIG');
    expect((thrown as ConfigError).message).toContain(name);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be a whole number, got "abc"'],
    [{ PORT: '70000' }, 'PORT must be between 0 and 65535, got 70000'],
    [{ MAX_CONNECTIONS: '0' }, 'MAX_CONNECTIONS must be between 1 and 9007199254740991, got 0'],
    [{ ANONYMIZE_ADDRESSES: 'maybe' }, 'ANONYMIZE_ADDRESSES must be true or false, got "maybe"'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY must be true, false, a hop count or a comma list of IPs/CIDRs, got "maybe"'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL must start with redis://, rediss://, redis-sentinel:// or redis-cluster://'],
    [{ REDIS_KEY_PREFIX: 'a b' }, 'REDIS_KEY_PREFIX may not contain braces or spaces (they would break Redis Cluster hash tags)'],
    [{ METRICS_PORT: 'x' }, 'METRICS_PORT must be a port number (0-65535), got "x"'],
    [{ PORT: '60000' }, 'METRICS_PORT must be set when PORT (60000) + 10000 is not a port'],
    [{ HANDSHAKE_HOOK_FAIL_MODE: 'sometimes' }, 'HANDSHAKE_HOOK_FAIL_MODE must be open or closed, got "sometimes"'],
    [{ ALLOWED_ORIGINS: 'example.org' }, 'ALLOWED_ORIGINS must list origins like https://example.org (scheme and host, no path), got "example.org"'],
  ])('tells the operator what is wrong with %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });

  it('reads the forms an operator writes: hop counts, proxy lists, block lists, yes/no', () => {
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1' }).trustProxy).toEqual(['10.0.0.0/8', '192.168.1.1']);
    expect(loadConfig({ USERNAME_BLOCKLIST: ' Evil ,,spam' }).usernameBlockList).toEqual(['evil', 'spam']);
    expect(loadConfig({ ANONYMIZE_ADDRESSES: 'YES' }).anonymizeAddresses).toBe(true);
    expect(loadConfig({ PORT: ' 8080 ' }).port).toBe(8080);
  });
});

describe('the gateway process', () => {
  it('exits with code 2 and names PORT on stderr when PORT=abc', async () => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'services/gateway/src/main.ts'], {
      cwd: REPO_ROOT,
      // A clean environment: nothing of the test runner's settings may decide the outcome.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: 'abc' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(exitCode).toBe(2);
    expect(stderr).toContain('PORT');
    expect(stderr).not.toContain('    at '); // a message for an operator, not a stack trace
  });
});
