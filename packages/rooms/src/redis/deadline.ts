/**
 * A bound on every engine call, whatever the state of ioredis's queues: commands waiting in
 * an offline queue (Cluster down, topology unknown) never reach a connection's
 * commandTimeout, and a caller must not hang on them without limit.
 *
 * One sweep for all calls rather than a timer each: every set would otherwise arm and clear
 * a timer and race two promises. Calls are kept in the order they started and all get the
 * same bound, so the sweep stops at the first call still within it.
 */
import { RoomEngineError } from '../errors.ts';

/** ioredis's message for a command that outlived `commandTimeout` (Command.js). */
const IOREDIS_TIMEOUT = 'Command timed out';

/** Sweeps this many times per deadline: a call fails between `ms` and `ms` + `ms`/this. */
const SWEEPS_PER_DEADLINE = 10;

function timeoutError(what: string, ms: number, cause?: unknown): RoomEngineError {
  const error = new RoomEngineError('CV_ERR_REDIS_TIMEOUT', `redis did not answer ${what} within ${ms} ms`);
  if (cause !== undefined) error.cause = cause;
  return error;
}

/** ioredis's own command timeout is reported with the same code as ours. */
function translated(error: unknown, what: string, ms: number): unknown {
  return error instanceof Error && error.message === IOREDIS_TIMEOUT ? timeoutError(what, ms, error) : error;
}

interface PendingCall {
  readonly startedAt: number;
  readonly what: string;
  readonly reject: (error: unknown) => void;
}

export class CallDeadlines {
  /** Calls not settled yet, oldest first (a Set keeps insertion order). */
  private readonly pending = new Set<PendingCall>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ms: number) {}

  /**
   * Settles like `promise`, or rejects with CV_ERR_REDIS_TIMEOUT once it is `ms` old. The
   * abandoned promise keeps its handlers, so its late rejection is not unhandled.
   */
  bound<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = { startedAt: performance.now(), what, reject };
      this.pending.add(call);
      this.timer ??= setInterval(this.sweep, Math.max(1, Math.ceil(this.ms / SWEEPS_PER_DEADLINE))).unref();
      promise.then(
        (value) => {
          this.pending.delete(call);
          resolve(value);
        },
        (error: unknown) => {
          this.pending.delete(call);
          reject(translated(error, what, this.ms));
        },
      );
    });
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    for (const call of this.pending) {
      if (now - call.startedAt < this.ms) break;
      this.pending.delete(call);
      call.reject(timeoutError(call.what, this.ms));
    }
    if (this.pending.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  };

  /** Stops sweeping; calls still pending settle with their promise. */
  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
