/**
 * CPU and memory of other processes (gateways, redis-server) from Linux /proc.
 * CPU = utime + stime of /proc/<pid>/stat in clock ticks; RSS = VmRSS of /proc/<pid>/status.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export class ProcStatsError extends Error {
  readonly code = 'CV_ERR_PROC_STATS';
  constructor(message: string) {
    super(message);
  }
}

export interface ProcSample {
  readonly pid: number;
  /** utime + stime, in seconds. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

let ticksPerSecond: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`); 100 on every Linux this runs on, asked once. */
export function clockTicks(): number {
  if (ticksPerSecond !== undefined) return ticksPerSecond;
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const parsed = Number.parseInt(out.stdout ?? '', 10);
  ticksPerSecond = Number.isFinite(parsed) && parsed > 0 ? parsed : 100;
  return ticksPerSecond;
}

/** utime + stime in ticks from the text of /proc/<pid>/stat. */
export function parseStatTicks(stat: string): number {
  // comm (field 2) may contain spaces and parentheses: fields resume after the LAST ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new ProcStatsError('malformed /proc stat: no comm field');
  const rest = stat.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new ProcStatsError('malformed /proc stat: utime/stime not numeric');
  }
  return utime + stime;
}

/** VmRSS in bytes from the text of /proc/<pid>/status. */
export function parseStatusRss(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match?.[1]) throw new ProcStatsError('no VmRSS line in /proc status');
  return Number(match[1]) * 1024;
}

export function sampleProc(pid: number): ProcSample {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (err) {
    throw new ProcStatsError(`cannot read /proc/${pid}: ${(err as Error).message}`);
  }
  return { pid, cpuSeconds: parseStatTicks(stat) / clockTicks(), rssBytes: parseStatusRss(status) };
}

/** CPU used and RSS at the end, between two samples of the same process. */
export interface ProcDelta {
  readonly pid: number;
  readonly cpuSeconds: number;
  readonly rssStartBytes: number;
  readonly rssEndBytes: number;
}

export function procDelta(start: ProcSample, end: ProcSample): ProcDelta {
  return {
    pid: start.pid,
    cpuSeconds: end.cpuSeconds - start.cpuSeconds,
    rssStartBytes: start.rssBytes,
    rssEndBytes: end.rssBytes,
  };
}

/** CPU seconds all cores spent busy (not idle, not iowait) since boot, from /proc/stat. */
export function parseMachineBusyTicks(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new ProcStatsError('no aggregate cpu line in /proc/stat');
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  if (ticks.length < 4 || ticks.some((t) => !Number.isFinite(t))) throw new ProcStatsError('malformed cpu line in /proc/stat');
  // user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return user + nice + system + irq + softirq + steal;
}

export function machineBusySeconds(): number {
  return parseMachineBusyTicks(readFileSync('/proc/stat', 'utf8')) / clockTicks();
}
