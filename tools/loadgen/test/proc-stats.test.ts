import { describe, expect, it } from 'vitest';
import { clockTicks, machineBusySeconds, parseMachineBusyTicks, parseStatTicks, parseStatusRss, ProcStatsError, sampleProc } from '../src/proc-stats.ts';

describe('/proc readers', () => {
  it('sums utime and stime even when the command name holds spaces and parentheses', () => {
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 12345 1000 200';
    expect(parseStatTicks(stat)).toBe(325);
  });

  it('reads VmRSS in bytes', () => {
    expect(parseStatusRss('Name:\tnode\nVmHWM:\t  9000 kB\nVmRSS:\t   8192 kB\nThreads:\t7\n')).toBe(8192 * 1024);
  });

  it('fails with a coded error on text without the fields', () => {
    expect(() => parseStatusRss('Name:\tnode\n')).toThrow(ProcStatsError);
    expect(() => parseStatTicks('garbage')).toThrow(ProcStatsError);
  });

  it('samples a live process: RSS matches what the process reports, CPU grows with work', () => {
    const first = sampleProc(process.pid);
    const rss = process.memoryUsage().rss;
    expect(first.rssBytes).toBeGreaterThan(rss * 0.5);
    expect(first.rssBytes).toBeLessThan(rss * 2);
    const cpuStart = process.cpuUsage();
    let x = 0;
    // Burn at least three clock ticks of CPU so the tick-granular counter must move.
    while ((process.cpuUsage(cpuStart).user + process.cpuUsage(cpuStart).system) / 1e6 < 3 / clockTicks() + 0.01) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    expect(sampleProc(process.pid).cpuSeconds).toBeGreaterThan(first.cpuSeconds);
  });

  it('reports a missing process as a coded error', () => {
    expect(() => sampleProc(2 ** 22 + 1)).toThrow(ProcStatsError);
  });
});

describe('machine busy time', () => {
  it('counts user, nice, system, irq, softirq and steal, not idle or iowait', () => {
    const stat = 'cpu  100 5 50 9000 40 3 2 1 0 0\ncpu0 50 2 25 4500 20 1 1 0 0 0\nintr 1 2 3\n';
    expect(parseMachineBusyTicks(stat)).toBe(161);
  });

  it('reads the live machine and fails with a coded error on garbage', () => {
    const first = machineBusySeconds();
    expect(first).toBeGreaterThan(0);
    expect(() => parseMachineBusyTicks('intr 1 2 3')).toThrow(ProcStatsError);
  });
});
