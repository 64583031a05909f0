/**
 * ADMIN_TOKENS and its neighbours: read at start, refused with a message that names the
 * variable and never shows a token.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const SECRET = 'a-secret-token-0123456789';

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('ADMIN_TOKENS', () => {
  it('reads a comma list of name:token pairs (a token may hold colons)', () => {
    const config = loadConfig({ ADMIN_TOKENS: ` ops.alice:${SECRET} , bob@example:b:c:0123456789abcdef ` });
    expect(config.adminTokens).toEqual([
      { name: 'ops.alice', token: SECRET },
      { name: 'bob@example', token: 'b:c:0123456789abcdef' },
    ]);
    expect(loadConfig({}).adminTokens).toEqual([]);
  });

  it.each([
    ['no colon', `alice${SECRET}`, /entry 1 must be name:token/],
    ['an empty name', `:${SECRET}`, /entry 1 must be name:token/],
    ['a name with a space', `al ice:${SECRET}`, /entry 1/],
    ['a short token', 'alice:short-token', /the token of "alice" must be 16-256/],
    ['a token with a space', 'alice:0123456789 abcdefgh', /the token of "alice"/],
    ['a name twice', `alice:${SECRET},alice:${SECRET}x`, /"alice" appears twice/],
    ['a token twice', `alice:${SECRET},bob:${SECRET}`, /"bob" reuses another entry's token/],
  ])('refuses %s, naming ADMIN_TOKENS and not the token', (_what, value, message) => {
    const text = refusal({ ADMIN_TOKENS: value });
    expect(text).toMatch(/^ADMIN_TOKENS: /);
    expect(text).toMatch(message);
    expect(text).not.toContain(SECRET);
  });

  it('reads the list from ADMIN_TOKENS_FILE (a mounted secret), but not from both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloudvars-tokens-'));
    try {
      const file = join(dir, 'admin-tokens');
      writeFileSync(file, `ops:${SECRET}\n`);
      expect(loadConfig({ ADMIN_TOKENS_FILE: file }).adminTokens).toEqual([{ name: 'ops', token: SECRET }]);
      expect(refusal({ ADMIN_TOKENS_FILE: file, ADMIN_TOKENS: `ops:${SECRET}` })).toMatch(/ADMIN_TOKENS or ADMIN_TOKENS_FILE, not both/);
      expect(refusal({ ADMIN_TOKENS_FILE: join(dir, 'missing') })).toMatch(/^ADMIN_TOKENS_FILE: cannot read .*ENOENT/);
      writeFileSync(file, 'ops:short');
      expect(refusal({ ADMIN_TOKENS_FILE: file })).toMatch(/^ADMIN_TOKENS_FILE: the token of "ops"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses API_READS_NEED_TOKEN without any token: no read could pass', () => {
    expect(refusal({ API_READS_NEED_TOKEN: 'true' })).toMatch(/API_READS_NEED_TOKEN=true needs ADMIN_TOKENS/);
    expect(loadConfig({ API_READS_NEED_TOKEN: 'true', ADMIN_TOKENS: `ops:${SECRET}` }).apiReadsNeedToken).toBe(true);
  });

  it('bounds CLOUD_LOG_LENGTH and API_RATE_LIMIT_PER_MINUTE', () => {
    expect(refusal({ CLOUD_LOG_LENGTH: '10001' })).toMatch(/CLOUD_LOG_LENGTH must be between 0 and 10000/);
    expect(refusal({ API_RATE_LIMIT_PER_MINUTE: '0' })).toMatch(/API_RATE_LIMIT_PER_MINUTE/);
    expect(loadConfig({ CLOUD_LOG_LENGTH: '0' }).cloudLogLength).toBe(0);
  });
});
