import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
 * context that .dockerignore lets through, then starts the runtime stage's CMD in the
 * resulting /app tree: the image's contents must run on their own, without dev dependencies.
 */
const stages = parseDockerfile(readFileSync(repoPath('services', 'gateway', 'Dockerfile'), 'utf8'));
const build = stages.find((s) => s.name === 'build');
const runtime = stages.at(-1);
const work = mkdtempSync(join(tmpdir(), 'cv-image-'));
const context = join(work, 'context');

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('gateway image tree (Dockerfile replayed without Docker)', () => {
  it('has a build stage and a runtime stage that copies the build output', () => {
    expect(build).toBeDefined();
    expect(runtime?.instructions.some((i) => i.op === 'COPY' && i.args.startsWith('--from=build '))).toBe(true);
  });

  it('builds a production-only tree that starts, answers the HEALTHCHECK and drains on SIGTERM', async () => {
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
      // Installing pnpm globally would change this machine; the test runs the machine's pnpm.
      if (step.op !== 'RUN' || step.args.startsWith('npm i -g')) continue;
      const command = step.args.split(buildOut).join(out);
      // PATH/PNPM_HOME point into the base image; here pnpm is already on PATH.
      const stepEnv = Object.fromEntries(Object.entries(env).filter(([key]) => key !== 'PATH' && key !== 'PNPM_HOME'));
      const result = spawnSync('sh', ['-c', command], { cwd: context, env: { ...process.env, ...stepEnv }, encoding: 'utf8' });
      expect(result.status, `${command}\n${result.stderr}${result.stdout}`).toBe(0);
    }

    // Production dependencies only, including tsx which runs the TypeScript.
    expect(existsSync(join(out, 'node_modules', 'tsx'))).toBe(true);
    expect(existsSync(join(out, 'node_modules', '@cloudvars', 'protocol', 'src', 'index.ts'))).toBe(true);
    for (const dev of ['vitest', 'typescript', 'eslint', 'testcontainers']) expect(existsSync(join(out, 'node_modules', dev))).toBe(false);

    const runEnv = Object.fromEntries(runtime.instructions.filter((i) => i.op === 'ENV').flatMap((i) => Object.entries(parseEnv(i.args))));
    const port = await freePort();
    const [cmd = '', ...args] = execForm(runtime.instructions.find((i) => i.op === 'CMD')?.args ?? '');
    const gateway = spawnChild('image-gateway', cmd === 'node' ? process.execPath : cmd, args, {
      cwd: out,
      env: { ...runEnv, HOST: '127.0.0.1', PORT: String(port), DRAIN_DELAY_MS: '0', REDIS_URL: '' },
    });
    try {
      const [hcCmd = '', ...hcArgs] = execForm(runtime.instructions.find((i) => i.op === 'HEALTHCHECK')?.args ?? '');
      await until('the image HEALTHCHECK passes', () => {
        if (!gateway.isRunning()) throw new Error(gateway.output());
        return run(hcCmd === 'node' ? process.execPath : hcCmd, hcArgs, out, { PORT: String(port) }).code === 0;
      }, { timeoutMs: 30_000, intervalMs: 200 });
    } finally {
      expect(await stopChild(gateway, 'SIGTERM', 20_000)).toBe(0);
    }
  }, 240_000);
});
