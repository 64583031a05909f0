/** Thrown when a polled condition did not hold in time; the message names what was awaited. */
export class UntilTimeoutError extends Error {
  readonly code = 'CV_ERR_TEST_UNTIL_TIMEOUT';
  constructor(what: string, timeoutMs: number, cause?: unknown) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`, cause === undefined ? undefined : { cause });
    this.name = 'UntilTimeoutError';
  }
}

export interface UntilOptions {
  /** Default 5000. */
  readonly timeoutMs?: number;
  /** Named in the timeout's message. */
  readonly what?: string;
  /** Default 5. */
  readonly intervalMs?: number;
  /**
   * True: a condition that throws counts as "not yet" (a probe refused while a server
   * starts), and the last error becomes the timeout's cause. False (default): it rejects at once.
   */
  readonly retryErrors?: boolean;
}

/** What a condition answers once it holds. */
export type Reached<T> = Exclude<T, false | null | undefined>;

/**
 * Resolves with the condition's value as soon as it is neither false, null nor undefined (so
 * a probe may answer a found 0 or ''); checks it right away, then
 * every `intervalMs`, and rejects after `timeoutMs`. The timeout bounds a failing test or
 * tool run; it never decides a passing one.
 */
export async function until<T>(condition: () => T | Promise<T>, options: UntilOptions = {}): Promise<Reached<T>> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== false && value !== null && value !== undefined) return value as Reached<T>;
    } catch (error) {
      if (options.retryErrors !== true) throw error;
      lastError = error;
    }
    if (performance.now() >= deadline) throw new UntilTimeoutError(options.what ?? 'a condition', timeoutMs, lastError);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 5));
  }
}

/** `until` for a run that records a failure and goes on (the soak): whether the condition held in time. */
export async function holdsWithin(condition: () => boolean | Promise<boolean>, options: UntilOptions = {}): Promise<boolean> {
  try {
    await until(condition, options);
    return true;
  } catch (error) {
    if (error instanceof UntilTimeoutError) return false;
    throw error;
  }
}
