import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { composeCliCheck, composeSchemaErrors } from '../src/compose.ts';
import { repoPath } from '../src/paths.ts';

const composeFile = repoPath('docker-compose.yml');

interface Service {
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  healthcheck?: { test?: string | string[] };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}
const compose = parse(readFileSync(composeFile, 'utf8')) as { services: Record<string, Service> };
const service = (name: string): Service => {
  const s = compose.services[name];
  if (s === undefined) throw new Error(`no service ${name}`);
  return s;
};

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    expect(composeSchemaErrors(composeFile)).toEqual([]);
  });

  it('the schema check rejects a broken file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-compose-'));
    const broken = join(dir, 'docker-compose.yml');
    writeFileSync(broken, 'services:\n  redis:\n    image: redis\n    ports: 6379\n    healthcheck: yes\n');
    try {
      expect(composeSchemaErrors(broken).length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const cli = composeCliCheck(composeFile);
  // The Debian package docker-compose provides the binary; without it the schema check above stands alone.
  it.skipIf(!cli.available)('passes `docker-compose config -q`', () => {
    expect(cli.output).toBe('');
    expect(cli.code).toBe(0);
  });

  it('runs Redis with AOF (everysec) on a named volume, health-checked with redis-cli ping', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:\d+\.\d+\.\d+/);
    expect(redis.command?.join(' ')).toContain('--appendonly yes --appendfsync everysec');
    expect(redis.command?.join(' ')).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(redis.healthcheck?.test).toContain('redis-cli ping');
  });

  it('runs three gateway replicas on Redis, trusting one proxy hop, started after Redis is healthy', () => {
    const gateway = service('gateway');
    expect(gateway.deploy?.replicas).toBe(3);
    expect(gateway.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(gateway.environment?.TRUST_PROXY).toBe('1');
    expect(gateway.depends_on?.redis?.condition).toBe('service_healthy');
    expect(gateway.healthcheck?.test).toContain('/readyz');
    // A drain must finish before Docker's SIGKILL.
    expect(parseInt(gateway.stop_grace_period ?? '10s', 10)).toBeGreaterThan(30);
    expect(gateway.ports).toBeUndefined();
  });

  it('writes every health check as one shell string, the form podman-compose 1.0.3 also reads', () => {
    // A list's first item (CMD, CMD-SHELL) is popped in place by podman-compose 1.0.3, and a
    // service's replicas share the list: the second gateway replica's check was refused.
    for (const [name, s] of Object.entries(compose.services)) {
      expect(typeof s.healthcheck?.test, name).toBe('string');
    }
  });

  it('publishes one port through nginx, whose config files exist in the repo', () => {
    const lb = service('lb');
    expect(lb.image).toMatch(/^nginx:\d+\.\d+\.\d+/);
    expect(lb.ports).toEqual(['${CLOUDVARS_PORT:-9080}:9080']);
    expect(lb.depends_on?.gateway?.condition).toBe('service_healthy');
    for (const volume of lb.volumes ?? []) {
      const source = volume.split(':')[0] ?? '';
      expect(existsSync(repoPath(source)), `${source} exists`).toBe(true);
    }
    expect(lb.volumes).toContain('./deploy/nginx/cloudvars.conf:/etc/nginx/conf.d/default.conf:ro');
  });
});
