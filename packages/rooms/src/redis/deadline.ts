/**
 * A bound on every engine call, whatever the state of ioredis's queues: commands waiting in
 * an offline queue (Cluster down, topology unknown) never reach a connection's
 * commandTimeout, and a caller must not hang on them without limit.
 */
import { RoomEngineError } from '../errors.ts';

/** ioredis's message for a command that outlived `commandTimeout` (Command.js). */
const IOREDIS_TIMEOUT = 'Command timed out';

function timeoutError(what: string, ms: number, cause?: unknown): RoomEngineError {
  const error = new RoomEngineError('CV_ERR_REDIS_TIMEOUT', `redis did not answer ${what} within ${ms} ms`);
  if (cause !== undefined) error.cause = cause;
  return error;
}

/**
 * Settles like `promise`, or rejects with CV_ERR_REDIS_TIMEOUT after `ms`. ioredis's own
 * command timeout is reported with the same code. The abandoned promise keeps its
 * handlers, so its late rejection is not unhandled.
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } catch (error) {
    if (error instanceof Error && error.message === IOREDIS_TIMEOUT) throw timeoutError(what, ms, error);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
