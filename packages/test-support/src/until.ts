/** Thrown when a polled condition did not hold in time; the message names what was awaited. */
export class UntilTimeoutError extends Error {
  readonly code = 'CV_ERR_TEST_UNTIL_TIMEOUT';
  constructor(what: string, timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`);
    this.name = 'UntilTimeoutError';
  }
}

/**
 * Resolves as soon as `condition` holds; checks it right away, then every few ms, and
 * rejects after `timeoutMs`. The timeout bounds a failing test; it never decides a passing one.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() >= deadline) throw new UntilTimeoutError(options.what ?? 'a condition', timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
