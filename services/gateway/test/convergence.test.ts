import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialectName } from '@cloudvars/protocol';
import { testSeed } from '@cloudvars/test-support/seeded-random';
import { replayHint, runConvergence } from './support/convergence.ts';
import { startGateway, type RunningGateway } from './support/gateway.ts';

const REPETITIONS = 20;

describe('convergence on one node', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startGateway();
  });
  afterAll(async () => {
    await gateway.stop();
  });

  const writers: ReadonlyArray<readonly [string, readonly DialectName[]]> = [
    ['2020 clients', ['seed', 'legacy']],
    ['Scratch 3 clients', ['scratch']],
    ['a mixed room', ['seed', 'scratch', 'legacy', 'scratch']],
  ];
  it.each(writers)(
    `leaves every client on the stored values after 8 concurrent writers stop (%s), in ${REPETITIONS} of ${REPETITIONS} runs`,
    async (label, dialects) => {
      const seed = testSeed();
      // The runs go in parallel rooms: each room is an independent repetition.
      const outcomes = await Promise.all(
        Array.from({ length: REPETITIONS }, (_, run) =>
          runConvergence({ urls: [gateway.url], room: `converge-${label.replace(/\W/g, '')}-${run}`, store: gateway.engine.store, seed: seed + run, dialects }),
        ),
      );
      for (const outcome of outcomes) {
        expect(outcome.stored.size).toBe(2);
        expect(Object.fromEntries(outcome.diverged), replayHint(outcome)).toEqual({});
      }
    },
    60_000,
  );
});
