import { performance } from 'node:perf_hooks';
import type { EngineLimits, EngineStatusEvent, EngineStatusListener, RoomEngine } from '../ports.ts';
import { MemoryBus } from './bus.ts';
import { MemoryCounters } from './counters.ts';
import { MemoryModeration } from './moderation.ts';
import { MemoryPolicies } from './policies.ts';
import { MemoryStore } from './store.ts';

export interface MemoryEngineOptions {
  readonly limits: EngineLimits;
  /**
   * Milliseconds for lease and room expiry; tests inject a clock they advance. It must
   * not go back: the store relies on expiries being issued in increasing order. The
   * default is monotonic for that reason (Date.now() can step back under NTP).
   */
  readonly now?: () => number;
  /**
   * The same callback as the Redis engine's; in memory the only event is a listener that
   * threw during delivery (`error`, CV_ERR_BUS_LISTENER: the bus carries on). Default: one
   * line to stderr.
   */
  readonly onStatus?: EngineStatusListener;
}

function writeToStderr(event: EngineStatusEvent): void {
  if (event.type !== 'error') return;
  // JSON keeps the stack on one line, like the gateway's own log lines.
  const line = { level: 'error', code: event.code, msg: 'a bus listener threw', error: event.error.stack ?? event.error.message };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

/** Read once: `timeOrigin` is a getter, and so is the global `performance` in Node 20 (hence the import). */
const timeOrigin = performance.timeOrigin;
const monotonicNow = (): number => timeOrigin + performance.now();

/** The single-node engine (no Redis): one process holds every room, so one engine is the whole "cluster". */
export function createMemoryEngine(options: MemoryEngineOptions): RoomEngine {
  const bus = new MemoryBus(options.onStatus ?? writeToStderr);
  const now = options.now ?? monotonicNow;
  const moderation = new MemoryModeration(now);
  const store = new MemoryStore(options.limits, now, bus, moderation);
  const counters = new MemoryCounters(now);
  const policies = new MemoryPolicies();
  let open = true;
  return {
    kind: 'memory',
    store,
    bus,
    counters,
    moderation,
    policies,
    isConnected: () => open,
    close: async () => {
      open = false;
      store.close();
      counters.close();
      moderation.close();
      policies.close();
      bus.close();
    },
  };
}
