import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnChild, stopChild } from '../src/child.ts';
import { copyContext, dockerignoreMatcher, execForm, parseDockerfile, parseEnv } from '../src/dockerfile-sim.ts';
import { repoPath, repoRoot } from '../src/paths.ts';
import { run } from '../src/run.ts';
import { until } from '../src/until.ts';

/**
 * No Docker engine runs here, so this replays the Dockerfile's build stage on the build
 * context that .dockerignore lets through (install, compile, deploy), then starts the runtime
 * stage's CMD in the resulting /app tree: the image's contents must be compiled JavaScript
 * that runs on its own, without dev dependencies, TypeScript or tsx.
 */
const stages = parseDockerfile(readFileSync(repoPath('services', 'gateway', 'Dockerfile'), 'utf8'));
const build = stages.find((s) => s.name === 'build');
const runtime = stages.at(-1);
const work = mkdtempSync(join(tmpdir(), 'cv-image-'));
const context = join(work, 'context');

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Files below dir (relative paths), not descending into node_modules. */
function filesUnder(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((entry) => {
    const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.name === 'node_modules') return [];
    return entry.isDirectory() ? filesUnder(dir, child) : [child];
  });
}

describe('gateway image tree (Dockerfile replayed without Docker)', () => {
  it('has a build stage and a runtime stage that copies the build output', () => {
    expect(build).toBeDefined();
    expect(runtime?.instructions.some((i) => i.op === 'COPY' && i.args.startsWith('--from=build '))).toBe(true);
  });

  it('builds a compiled, production-only tree that starts, answers the HEALTHCHECK and drains on SIGTERM', async () => {
    if (build === undefined || runtime === undefined) throw new Error('stages missing');
    const ignored = dockerignoreMatcher(readFileSync(repoPath('.dockerignore'), 'utf8'));
    expect(ignored('services/gateway/node_modules/x')).toBe(true);
    expect(ignored('services/gateway/src/main.ts')).toBe(false);
    expect(copyContext(repoRoot, context, ignored)).toBeGreaterThan(10);
    expect(existsSync(join(context, '.git'))).toBe(false);

    // `COPY --from=build <out> /app`: the build stage writes the image tree to <out>.
    const copy = runtime.instructions.find((i) => i.op === 'COPY' && i.args.startsWith('--from=build '));
    const [, buildOut = ''] = (copy?.args ?? '').split(/\s+/);
    const out = join(work, 'app');
    let env: Record<string, string> = {};
    for (const step of build.instructions) {
      if (step.op === 'ENV') env = { ...env, ...parseEnv(step.args) };
      if (step.op !== 'RUN') continue;
      // `--mount=type=cache,...` (BuildKit): the store is this machine's own pnpm store; the
      // optional build_ca secret is absent here, so its `if [ -s ... ]` does nothing.
      const command = step.args
        .replace(/^(--mount=\S+\s+)+/, '')
        .split(buildOut)
        .join(out);
      // Installing pnpm globally would change this machine; the test runs the machine's pnpm.
      if (/\bnpm i -g\b/.test(command)) continue;
      // PATH/PNPM_HOME point into the base image; here pnpm is already on PATH.
      const stepEnv = Object.fromEntries(Object.entries(env).filter(([key]) => key !== 'PATH' && key !== 'PNPM_HOME'));
      const result = spawnSync('sh', ['-c', command], { cwd: context, env: { ...process.env, ...stepEnv }, encoding: 'utf8' });
      expect(result.status, `${command}\n${result.stderr}${result.stdout}`).toBe(0);
    }

    // Compiled JavaScript: the gateway's dist/, the workspace packages' dist/ and the Lua
    // scripts beside the code that reads them, the home page where the gateway looks for it.
    expect(existsSync(join(out, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(join(out, 'public', 'index.html'))).toBe(true);
    expect(existsSync(join(out, 'node_modules', '@cloudvars', 'protocol', 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(out, 'node_modules', '@cloudvars', 'rooms', 'dist', 'redis', 'lua', 'set.lua'))).toBe(true);
    // No TypeScript anywhere in our code (sources, declarations), and nothing that runs it.
    const ours = [out, realpathSync(join(out, 'node_modules', '@cloudvars', 'protocol')), realpathSync(join(out, 'node_modules', '@cloudvars', 'rooms'))];
    for (const dir of ours) {
      expect(existsSync(join(dir, 'src')), dir).toBe(false);
      expect(
        filesUnder(dir).filter((f) => /\.[cm]?ts$/.test(f) || f.endsWith('.tsbuildinfo')),
        dir,
      ).toEqual([]);
    }
    // Production dependencies only: no compiler, no tsx, no test or lint tools, not even
    // as a transitive package in the store.
    const store = readdirSync(join(out, 'node_modules', '.pnpm'));
    for (const dev of ['tsx', 'typescript', 'esbuild', 'vitest', 'eslint', 'testcontainers']) {
      expect(existsSync(join(out, 'node_modules', dev)), dev).toBe(false);
      expect(
        store.filter((name) => name.startsWith(`${dev}@`)),
        dev,
      ).toEqual([]);
    }

    const runEnv = Object.fromEntries(runtime.instructions.filter((i) => i.op === 'ENV').flatMap((i) => Object.entries(parseEnv(i.args))));
    const port = await freePort();
    const [cmd = '', ...args] = execForm(runtime.instructions.find((i) => i.op === 'CMD')?.args ?? '');
    // The CMD runs a compiled file of the tree with plain node: no loader, no TypeScript.
    expect(cmd).toBe('node');
    expect(args).toEqual([expect.stringMatching(/^dist\/.*\.js$/)]);
    expect(existsSync(join(out, args[0] ?? ''))).toBe(true);
    const gateway = spawnChild('image-gateway', cmd === 'node' ? process.execPath : cmd, args, {
      cwd: out,
      env: { ...runEnv, HOST: '127.0.0.1', PORT: String(port), DRAIN_DELAY_MS: '0', REDIS_URL: '' },
    });
    try {
      const [hcCmd = '', ...hcArgs] = execForm(runtime.instructions.find((i) => i.op === 'HEALTHCHECK')?.args ?? '');
      await until(
        'the image HEALTHCHECK passes',
        () => {
          if (!gateway.isRunning()) throw new Error(gateway.output());
          return run(hcCmd === 'node' ? process.execPath : hcCmd, hcArgs, out, { PORT: String(port) }).code === 0;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    } finally {
      expect(await stopChild(gateway, 'SIGTERM', 20_000)).toBe(0);
    }
  }, 240_000);
});
