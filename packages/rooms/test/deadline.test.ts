import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CallDeadlines } from '../src/redis/deadline.ts';

describe('CallDeadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes settled calls through, and fails each call that is still pending once it is as old as the bound', async () => {
    const deadlines = new CallDeadlines(1_000);
    const never = new Promise<string>(() => undefined);
    const first = deadlines.bound(never, 'first');
    const outcomes: string[] = [];
    first.catch((error: unknown) => outcomes.push(`first: ${(error as { code: string }).code}`));
    vi.advanceTimersByTime(500);
    const second = deadlines.bound(never, 'second');
    second.catch(() => outcomes.push('second'));
    await expect(deadlines.bound(Promise.resolve('ok'), 'quick')).resolves.toBe('ok');
    await expect(deadlines.bound(Promise.reject(new Error('refused')), 'failing')).rejects.toThrow('refused');

    await vi.advanceTimersByTimeAsync(600); // first is 1,100 ms old, second 600
    expect(outcomes).toEqual(['first: CV_ERR_REDIS_TIMEOUT']);
    await vi.advanceTimersByTimeAsync(500);
    expect(outcomes).toEqual(['first: CV_ERR_REDIS_TIMEOUT', 'second']);
    deadlines.close();
  });

  it("reports ioredis's own command timeout with the engine's code", async () => {
    const deadlines = new CallDeadlines(1_000);
    await expect(deadlines.bound(Promise.reject(new Error('Command timed out')), 'set')).rejects.toMatchObject({ code: 'CV_ERR_REDIS_TIMEOUT' });
    deadlines.close();
  });
});
