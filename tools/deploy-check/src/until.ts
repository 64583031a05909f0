/**
 * Polls `condition` until it returns true (or a truthy value), at most `timeoutMs`.
 * Throws CV_ERR_TIMEOUT naming `what` when time runs out: a wait is always bounded.
 */
export async function until<T>(
  what: string,
  condition: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      // A probe that throws (connection refused while a server starts) counts as "not yet".
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw Object.assign(new Error(`CV_ERR_TIMEOUT: ${what} not reached within ${timeoutMs} ms`, { cause: lastError }), {
        code: 'CV_ERR_TIMEOUT',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
