/**
 * The engine's guard on every call: refused once the engine is closed, and bounded by a
 * deadline whatever the state of ioredis's queues (deadline.ts).
 */
import { engineClosed, toError } from '../errors.ts';
import { CallDeadlines } from './deadline.ts';

export class EngineGuard {
  /** Store and bus calls: up to two round trips. */
  readonly calls: CallDeadlines;
  /** Joins: up to three round trips (the leases and ban check, the join script, the slot). */
  readonly joins: CallDeadlines;
  private isClosed = false;

  constructor(commandTimeoutMs: number) {
    this.calls = new CallDeadlines(2 * commandTimeoutMs);
    this.joins = new CallDeadlines(3 * commandTimeoutMs);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Throws CV_ERR_ENGINE_CLOSED once the engine is closed. */
  open(): void {
    if (this.isClosed) throw engineClosed();
  }

  /**
   * The call, failing once the engine is closed and bounded by its deadline. The wrapper is
   * named after `name`, so a stack trace says which engine call it went through.
   */
  guarded<A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>, limit = this.calls): (...args: A) => Promise<R> {
    // Not async: a set is the hot path, and an async wrapper is one more promise per call.
    const wrapper = (...args: A): Promise<R> => {
      try {
        this.open();
        return limit.bound(call(...args), name);
      } catch (error) {
        return Promise.reject(toError(error));
      }
    };
    Object.defineProperty(wrapper, 'name', { value: name });
    return wrapper;
  }

  close(): void {
    this.isClosed = true;
    this.calls.close();
    this.joins.close();
  }
}
