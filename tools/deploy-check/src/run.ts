import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws for a non-zero exit (callers assert on it). */
export function run(command: string, args: readonly string[], cwd?: string, env?: Record<string, string>): RunResult {
  const result = spawnSync(command, args, {
    cwd,
    env: env === undefined ? process.env : { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) {
    throw Object.assign(new Error(`CV_ERR_SPAWN: ${command}: ${result.error.message}`), { code: 'CV_ERR_SPAWN' });
  }
  return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** Like run, but a non-zero exit is an error carrying the command's stderr. */
export function runOk(command: string, args: readonly string[], cwd?: string): string {
  const result = run(command, args, cwd);
  if (result.code !== 0) {
    throw Object.assign(new Error(`CV_ERR_COMMAND_FAILED: ${command} ${args.join(' ')} exited ${result.code}\n${result.stderr}${result.stdout}`), {
      code: 'CV_ERR_COMMAND_FAILED',
    });
  }
  return result.stdout;
}

/** The absolute path of an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this PATH entry; keep looking.
      continue;
    }
  }
  return undefined;
}
