/**
 * The soak in CI: a 2-minute run (`pnpm soak --duration 2m` does the same from the command
 * line) with every check of a long run: memory back within 10 % of each gateway's baseline,
 * every client on the stored values, Redis holding exactly what the remaining clients and
 * gateways explain, misbehaving clients closed with their codes. Its report (markdown, SVG
 * plot, JSON) goes to .tmp/soak-ci/ for a look after a failure.
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { hasBinary } from '@cloudvars/test-support/redis-server';
import { testSeed } from '@cloudvars/test-support/seeded-random';
import { defaultOptions } from '../src/options.ts';
import { writeReport } from '../src/report.ts';
import { runSoak } from '../src/soak.ts';

const DURATION_MS = 120_000;
const OUT = fileURLToPath(new URL('../../../.tmp/soak-ci', import.meta.url));

it.skipIf(!hasBinary('redis-server'))(
  'runs 2 minutes of load, churn, misbehaving clients, drained and killed gateways and Redis restarts, and ends with memory back, every view right and Redis exact',
  async () => {
    const seed = testSeed();
    const report = await runSoak(defaultOptions(DURATION_MS), seed);
    const file = writeReport(report, OUT, `soak-ci-node${process.versions.node.split('.')[0]}`);
    expect(report.failures, `report: ${file}; replay with TEST_SEED=${seed}`).toEqual([]);
    // The run did what it claims: every fault happened, and the clients kept playing.
    const labels = report.events.map((e) => e.label);
    for (const fault of ['drain soak-g1', 'SIGKILL soak-g2', 'restart Redis (SIGTERM)', 'SIGKILL Redis']) {
      expect(
        labels.some((label) => label.startsWith(fault)),
        fault,
      ).toBe(true);
    }
    expect(report.memory).toHaveLength(3);
    expect(report.clients.deliveries).toBeGreaterThan(1_000);
    expect(Object.values(report.bad).reduce((n, b) => n + b.started, 0)).toBeGreaterThan(30);
  },
  6 * 60_000,
);
