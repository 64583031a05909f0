/**
 * Without a Docker engine, the next best check of the gateway image: read the Dockerfile,
 * lay out the build context as .dockerignore filters it, run the build stage's `pnpm`
 * steps there, and hand the runtime stage's CMD and HEALTHCHECK to the test. What cannot
 * be reproduced (the base image, `npm i -g pnpm`, file ownership) is left out on purpose.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Instruction {
  op: string;
  args: string;
}
export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
      stages.push({ from: m?.[1] ?? '', name: m?.[2], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** `KEY=value KEY2=value2` of an ENV instruction (values without spaces, as ours are). */
export function parseEnv(args: string): Record<string, string> {
  return Object.fromEntries(
    args
      .split(/\s+/)
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

/** The JSON (exec) form of CMD / HEALTHCHECK ... CMD. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  return JSON.parse(json) as string[];
}

/**
 * A .dockerignore matcher for the pattern forms this repository uses: `name`, `dir/name`,
 * `*` within one segment, `**` across segments, and `.env.*`. A path is ignored when it or
 * one of its parent directories matches. `!` exceptions are not supported (and not used).
 */
export function dockerignoreMatcher(text: string): (relPath: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (patterns.some((p) => p.startsWith('!'))) throw new Error('CV_ERR_DOCKERIGNORE: ! exceptions are not supported');
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/^\/+/, '')
      .split('/')
      .map((seg) =>
        seg === '**'
          ? '.*'
          : seg
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
      )
      .join('/')
      .replace(/\.\*\//g, '(?:.*/)?');
    return new RegExp(`^${body}$`);
  });
  return (relPath) => {
    const segments = relPath.split('/');
    for (let i = 1; i <= segments.length; i++) {
      const prefix = segments.slice(0, i).join('/');
      if (regexes.some((r) => r.test(prefix))) return true;
    }
    return false;
  };
}

/** Copies the build context (repo files .dockerignore lets through) to `dest`. */
export function copyContext(repo: string, dest: string, ignored: (relPath: string) => boolean): number {
  let copied = 0;
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(repo, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (ignored(child)) continue;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) {
        mkdirSync(dirname(join(dest, child)), { recursive: true });
        copyFileSync(join(repo, child), join(dest, child));
        copied += 1;
      }
    }
  };
  walk('');
  return copied;
}
