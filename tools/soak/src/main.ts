/**
 * `pnpm soak [--duration 30m] [--out DIR] [--clients N] [--rooms N] [--seed N]`: a soak
 * run (soak.ts) on loopback with its own redis-server and gateways; writes
 * <out>/<date>-<host>-soak-<duration>.md with its plot (.svg) and data (.json), by default
 * into bench/results/, and exits 1 when a check failed. `pnpm soak` builds first and runs
 * the compiled gateways, as production does.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { testSeed } from '@cloudvars/test-support/seeded-random';
import { defaultOptions, formatDuration, parseDuration } from './options.ts';
import { writeReport } from './report.ts';
import { runSoak } from './soak.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    duration: { type: 'string', default: '2m' },
    out: { type: 'string' },
    clients: { type: 'string' },
    rooms: { type: 'string' },
    seed: { type: 'string' },
  },
});

const durationMs = parseDuration(values.duration ?? '2m');
const positive = (text: string | undefined, name: string): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`CV_ERR_SOAK_ARGS: --${name} must be a positive integer, got ${text}`);
  return n;
};
const clients = positive(values.clients, 'clients');
const rooms = positive(values.rooms, 'rooms');
const options = defaultOptions(durationMs, {
  ...(clients !== undefined ? { clients } : {}),
  ...(rooms !== undefined ? { rooms } : {}),
});
const seed = values.seed !== undefined ? Number(values.seed) : testSeed();
const outDir = values.out ?? fileURLToPath(new URL('../../../bench/results', import.meta.url));

options.log(`${formatDuration(durationMs)} soak, seed ${seed} (replay with --seed ${seed})`);
const report = await runSoak(options, seed);
const name = `${report.startedAt.slice(0, 10)}-${hostname()}-soak-${formatDuration(durationMs)}`;
const file = writeReport(report, outDir, name);
options.log(`wrote ${file} (and ${join(outDir, `${name}.svg`)})`);
if (report.failures.length > 0) {
  options.log(`FAILED:\n  ${report.failures.join('\n  ')}`);
  process.exitCode = 1;
} else {
  options.log('passed');
}
