import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../src/paths.ts';
import { run } from '../src/run.ts';

const require = createRequire(import.meta.url);
const dockerfile = repoPath('services', 'gateway', 'Dockerfile');
const text = readFileSync(dockerfile, 'utf8');

interface LintReport {
  totalIssues: number;
  files: { issues: { line: string; title: string }[] }[];
}

function lint(pathOrContent: string): LintReport {
  const bin = require.resolve('dockerfilelint/bin/dockerfilelint');
  const result = run(process.execPath, [bin, '-o', 'json', pathOrContent]);
  return JSON.parse(result.stdout) as LintReport;
}

describe('gateway Dockerfile', () => {
  it('has no dockerfilelint issues', () => {
    const report = lint(dockerfile);
    expect(report.files.flatMap((f) => f.issues)).toEqual([]);
  });

  it('the linter does report a bad Dockerfile', () => {
    expect(lint('FROM node\nRUN apt-get install curl\n').totalIssues).toBeGreaterThan(0);
  });

  it('pins exact Node base images in every stage', () => {
    const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const image of froms) expect(image).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+(-slim)?$/);
  });

  it('installs from the lockfile, compiles, and ships production dependencies only', () => {
    expect(text).toMatch(/pnpm install --frozen-lockfile/);
    expect(text).toMatch(/^RUN pnpm --filter @cloudvars\/gateway run build$/m);
    expect(text).toMatch(/pnpm deploy .*--filter @cloudvars\/gateway .*--prod/);
  });

  it('runs compiled JavaScript with plain node: no tsx, no TypeScript at run time', () => {
    expect(text).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    const instructions = text.split('\n').filter((line) => !line.trimStart().startsWith('#'));
    expect(instructions.filter((line) => /--import|tsx|\.ts\b/.test(line))).toEqual([]);
  });

  it('uses Node 24 LTS in every stage', () => {
    const froms = [...text.matchAll(/^FROM\s+node:(\d+)\./gm)].map((m) => m[1]);
    expect(froms).toEqual(['24', '24']);
  });

  it('runs as a non-root user, health-checks /healthz and stops with SIGTERM', () => {
    const users = [...text.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/^(root|0)$/);
    expect(text).toMatch(/^HEALTHCHECK [\s\S]*\/healthz/m);
    expect(text).toMatch(/^STOPSIGNAL SIGTERM$/m);
  });
});
