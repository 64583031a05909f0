/**
 * The deploy-check's face of test-support's `until`, for the callers that name what they
 * wait for first (engine.ts, engine.test.ts): a probe that throws counts as "not yet", and
 * waits default to 10 s polled every 25 ms. One polling loop: this only maps the arguments.
 */
import { until as untilHeld, type Reached } from '@cloudvars/test-support/until';

export function until<T>(
  what: string,
  condition: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Reached<T>> {
  return untilHeld(condition, { what, timeoutMs, intervalMs, retryErrors: true });
}
