/**
 * The other work on a shared machine: which processes outside the benchmark used CPU during
 * a measured window. Every process's utime + stime is read from /proc/<pid>/stat at both
 * edges; the benchmark's own tree (this process and its descendants: servers, Redis,
 * generator workers) is left out. Only the executable's name is kept (and a node script's
 * file name), never a full command line: results files are committed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { clockTicks, parseStatTicks } from '../proc-stats.ts';

export interface ProcCpu {
  readonly pid: number;
  readonly ppid: number;
  readonly name: string;
  readonly ticks: number;
}

export interface OtherProcess {
  readonly name: string;
  /** Processes of that name that used CPU in the window. */
  readonly processes: number;
  /** Cores busy on average over the window. */
  readonly cores: number;
}

export interface OtherWork {
  readonly seconds: number;
  /** Cores busy in processes outside the benchmark, summed. */
  readonly cores: number;
  /** The busiest names first. */
  readonly top: readonly OtherProcess[];
}

/** pid, ppid, comm and utime + stime from the text of /proc/<pid>/stat. */
export function parseStat(text: string): ProcCpu | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const ppid = Number(text.slice(close + 2).split(' ')[1]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid)) return undefined;
  return { pid, ppid, name: text.slice(open + 1, close), ticks: parseStatTicks(text) };
}

/** A short, harmless label: the executable, plus the script's file name for node. */
export function labelOf(comm: string, cmdline: string): string {
  if (!/^node\b/.test(comm) && comm !== 'MainThread') return comm;
  const args = cmdline.split('\0').filter((a) => a.length > 0);
  const script = args.slice(1).find((a) => !a.startsWith('-') && /\.(?:[cm]?js|ts)$/.test(a));
  return script ? `node ${basename(script)}` : 'node';
}

export type ProcTable = ReadonlyMap<number, ProcCpu>;

/** Every process readable now (those that vanish mid-scan are skipped). */
export function scanProcesses(): ProcTable {
  const table = new Map<number, ProcCpu>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (!stat) continue;
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      } catch {
        cmdline = ''; // another user's process: its name is enough
      }
      table.set(stat.pid, { ...stat, name: labelOf(stat.name, cmdline) });
    } catch {
      continue; // exited between readdir and read
    }
  }
  return table;
}

function descendsFrom(pid: number, root: number, table: ProcTable): boolean {
  let current: number | undefined = pid;
  for (let hops = 0; current !== undefined && current > 1 && hops < 64; hops++) {
    if (current === root) return true;
    current = table.get(current)?.ppid;
  }
  return false;
}

/**
 * CPU of processes outside `root`'s tree between two scans. A process that started in the
 * window counts from zero; one that ended in it is missed (its CPU shows in the machine's
 * busy time, which results report beside this).
 */
export function otherWork(start: ProcTable, end: ProcTable, seconds: number, root: number = process.pid, top = 4): OtherWork {
  const byName = new Map<string, { ticks: number; processes: number }>();
  let ticks = 0;
  for (const [pid, proc] of end) {
    if (descendsFrom(pid, root, end)) continue;
    const used = proc.ticks - (start.get(pid)?.ticks ?? 0);
    if (used <= 0) continue;
    ticks += used;
    const entry = byName.get(proc.name) ?? { ticks: 0, processes: 0 };
    entry.ticks += used;
    entry.processes += 1;
    byName.set(proc.name, entry);
  }
  const hz = clockTicks();
  const cores = (t: number): number => (seconds > 0 ? t / hz / seconds : 0);
  return {
    seconds,
    cores: cores(ticks),
    top: [...byName.entries()]
      .sort((a, b) => b[1].ticks - a[1].ticks)
      .slice(0, top)
      .map(([name, e]) => ({ name, processes: e.processes, cores: cores(e.ticks) })),
  };
}

/** "0.9 cores: node vitest.mjs 0.7 (3), tsc 0.1", or "none". */
export function describeOtherWork(w: OtherWork): string {
  if (w.top.length === 0 || w.cores < 0.005) return 'none';
  const parts = w.top.filter((p) => p.cores >= 0.005).map((p) => `${p.name} ${p.cores.toFixed(2)}${p.processes > 1 ? ` (${p.processes})` : ''}`);
  return `${w.cores.toFixed(2)} cores: ${parts.join(', ')}`;
}
