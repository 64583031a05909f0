import { describe, expect, it } from 'vitest';
import { describeOtherWork, labelOf, otherWork, parseStat, scanProcesses, type ProcCpu } from '../src/bench/other-work.ts';
import { clockTicks } from '../src/proc-stats.ts';

const proc = (pid: number, ppid: number, name: string, ticks: number): [number, ProcCpu] => [pid, { pid, ppid, name, ticks }];

describe('other work on the machine', () => {
  it('reads pid, parent, name and CPU ticks from /proc/<pid>/stat, whatever the name holds', () => {
    const stat = '4242 (node (x) y) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 1000 100000 2000';
    expect(parseStat(stat)).toEqual({ pid: 4242, ppid: 17, name: 'node (x) y', ticks: 300 });
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('labels a node process by its script file, never by the whole command line', () => {
    expect(labelOf('node', 'node\0--import\0tsx\0/work/x/node_modules/vitest/vitest.mjs\0run\0--token=secret')).toBe('node vitest.mjs');
    expect(labelOf('redis-server', 'redis-server\0*:6379')).toBe('redis-server');
    expect(labelOf('node', ['node', '-e', '1'].join('\0'))).toBe('node');
  });

  it("sums CPU outside the benchmark's process tree, busiest first", () => {
    const hz = clockTicks();
    const start = new Map([proc(10, 1, 'bench', 0), proc(11, 10, 'gateway', 0), proc(20, 1, 'node vitest.mjs', 100), proc(21, 1, 'tsc', 0)]);
    // 10 s window: vitest used 5 s, tsc 1 s (started meanwhile), the gateway (a child of the bench) 9 s.
    const end = new Map([
      proc(10, 1, 'bench', hz),
      proc(11, 10, 'gateway', 9 * hz),
      proc(20, 1, 'node vitest.mjs', 100 + 5 * hz),
      proc(21, 1, 'tsc', hz),
      proc(22, 11, 'worker', hz),
    ]);
    const w = otherWork(start, end, 10, 10);
    expect(w.cores).toBeCloseTo(0.6);
    expect(w.top).toEqual([
      { name: 'node vitest.mjs', processes: 1, cores: expect.closeTo(0.5, 5) as number },
      { name: 'tsc', processes: 1, cores: expect.closeTo(0.1, 5) as number },
    ]);
    expect(describeOtherWork(w)).toBe('0.60 cores: node vitest.mjs 0.50, tsc 0.10');
    expect(describeOtherWork({ seconds: 1, cores: 0, top: [] })).toBe('none');
  });

  it("scans this machine's processes, this one included", () => {
    expect(scanProcesses().get(process.pid)?.ppid).toBe(process.ppid);
  });
});
