/**
 * vitest globalSetup: provides `redisUrl` to every test file (inject('redisUrl')).
 * Order: REDIS_URL if set; else testcontainers' redis where a Docker engine answers; else
 * `redis-server` from PATH on a free 127.0.0.1 port; else, as root, apt-get installs it;
 * else a message that says what to install. A Docker engine that answers but cannot start
 * the container (an offline machine cannot pull the image) falls back to the next, with one
 * line saying so (chooseRedis). Tests isolate themselves by key prefix.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { chooseRedis, type FoundRedis } from '@cloudvars/test-support/redis-choice';
import { hasBinary, startRedisProcess } from '@cloudvars/test-support/redis-server';

// Declares ProvidedContext.redisUrl for `project.provide` and every `inject('redisUrl')`.
import type {} from '@cloudvars/test-support/redis-url';

type Teardown = () => Promise<void>;

/** Docker detection must not hold up runs on machines without an engine. */
const DOCKER_CHECK_TIMEOUT_MS = 3_000;

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Loading testcontainers costs seconds: skip it when nothing hints at a Docker engine. */
function mayHaveDocker(): boolean {
  return (
    Boolean(process.env.DOCKER_HOST) ||
    existsSync('/var/run/docker.sock') ||
    existsSync(join(homedir(), '.docker', 'run', 'docker.sock')) ||
    existsSync(join(homedir(), '.testcontainers.properties'))
  );
}

async function fromTestcontainers(): Promise<FoundRedis | undefined> {
  if (!mayHaveDocker()) return undefined;
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const runtime = await withTimeout(
    getContainerRuntimeClient().then(
      () => true,
      () => false, // no Docker engine: the next option is a local redis-server
    ),
    DOCKER_CHECK_TIMEOUT_MS,
  );
  if (runtime !== true) return undefined;
  const container = await new GenericContainer('redis:7-alpine')
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    teardown: async () => {
      await container.stop();
    },
  };
}

function installRedisServer(): boolean {
  if (process.getuid?.() !== 0) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  const result = spawnSync('apt-get', ['install', '-y', 'redis-server'], { stdio: 'inherit', env });
  return result.status === 0 && hasBinary('redis-server');
}

async function fromLocalServer(): Promise<FoundRedis | undefined> {
  if (!hasBinary('redis-server') && !installRedisServer()) return undefined;
  const server = await startRedisProcess();
  return { url: server.url, teardown: () => server.destroy() };
}

export default async function setup(project: TestProject): Promise<Teardown | undefined> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    project.provide('redisUrl', fromEnv);
    return undefined;
  }
  const found = await chooseRedis(
    [
      { name: 'testcontainers', find: fromTestcontainers },
      { name: 'redis-server from PATH (or apt-get)', find: fromLocalServer },
    ],
    (line) => console.warn(line),
  );
  if (!found) {
    throw new Error(
      'CV_ERR_TEST_NO_REDIS: tests need Redis >= 7. Set REDIS_URL, start a Docker engine, ' +
        'or install redis-server (Debian/Ubuntu: `sudo apt-get install -y redis-server`; macOS: `brew install redis`).',
    );
  }
  project.provide('redisUrl', found.url);
  return found.teardown;
}
