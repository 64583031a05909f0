/** What a result was measured on: a benchmark number means nothing without its machine. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';

export interface MachineInfo {
  readonly hostname: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly redis: string;
  readonly commit: string;
  readonly kernel: string;
}

function firstMatch(text: string, re: RegExp): string | undefined {
  return re.exec(text)?.[1]?.trim();
}

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch (err) {
    return `unknown (${(err as Error).message.split('\n')[0] ?? 'error'})`;
  }
}

export function machineInfo(repoRoot: string): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no'], repoRoot).length > 0;
  return {
    hostname: hostname(),
    cpuModel: firstMatch(cpuinfo, /^model name\s*:\s*(.+)$/m) ?? cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    redis: firstMatch(run('redis-server', ['--version'], repoRoot), /v=(\S+)/) ?? 'unknown',
    commit: `${run('git', ['rev-parse', '--short=12', 'HEAD'], repoRoot)}${dirty ? ' (with uncommitted changes)' : ''}`,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
  };
}

/** 1-minute load average: above the core count, other work competed with the benchmark. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
