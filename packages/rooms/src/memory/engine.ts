import type { EngineLimits, RoomEngine } from '../ports.ts';
import { MemoryBus, type MemoryBusError } from './bus.ts';
import { MemoryStore } from './store.ts';

export interface MemoryEngineOptions {
  readonly limits: EngineLimits;
  /**
   * Milliseconds for lease and room expiry; tests inject a clock they advance. It must
   * not go back: the store relies on expiries being issued in increasing order. The
   * default is monotonic for that reason (Date.now() can step back under NTP).
   */
  readonly now?: () => number;
  /** A listener threw during delivery (the bus carries on); default: one line to stderr. */
  readonly onError?: (report: MemoryBusError) => void;
}

function writeToStderr(report: MemoryBusError): void {
  // JSON keeps the stack on one line, like the gateway's own log lines.
  const line = { level: 'error', code: report.code, msg: 'a bus listener threw', error: report.error.stack ?? report.error.message };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

const monotonicNow = (): number => performance.timeOrigin + performance.now();

/** The single-node engine (no Redis): one process holds every room, so one engine is the whole "cluster". */
export function createMemoryEngine(options: MemoryEngineOptions): RoomEngine {
  const bus = new MemoryBus(options.onError ?? writeToStderr);
  const store = new MemoryStore(options.limits, options.now ?? monotonicNow, bus);
  let open = true;
  return {
    kind: 'memory',
    store,
    bus,
    isConnected: () => open,
    close: async () => {
      open = false;
      store.close();
      bus.close();
    },
  };
}
