import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConvergence } from './support/convergence.ts';
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

  it(`leaves every client on the stored values after 8 concurrent writers stop, in ${REPETITIONS} of ${REPETITIONS} runs`, async () => {
    // The runs go in parallel rooms: each room is an independent repetition.
    const outcomes = await Promise.all(
      Array.from({ length: REPETITIONS }, (_, run) => runConvergence({ urls: [gateway.url], room: `converge-${run}`, store: gateway.engine.store })),
    );
    for (const outcome of outcomes) {
      expect(outcome.stored.size).toBe(2);
      expect(Object.fromEntries(outcome.diverged)).toEqual({});
    }
  }, 60_000);
});
