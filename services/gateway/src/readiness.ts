/**
 * What /readyz reports: ready while not draining, the engine's backend is connected, and
 * the bus's liveness probe (a message the pod publishes to itself) last came back. A pod
 * that silently lost its subscription stops being ready instead of staying green.
 */
import type { RoomEngine } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';

/**
 * The pause between probes, and how long one may take. Generous: a probe that fails only
 * because the event loop was busy would turn the pod unready and, three in a row, make the
 * Redis engine reconnect its subscriber and every room resync, adding load to a busy pod.
 */
const PROBE_INTERVAL_MS = 5_000;
const PROBE_TIMEOUT_MS = 5_000;

export class Readiness {
  private draining = false;
  private probeOk: boolean;
  /** When the last probe that came back was sent (Date.now()): events are whole up to then. */
  private lastGoodAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly engine: RoomEngine,
    private readonly log: FastifyBaseLogger,
    /**
     * Called when the probe comes back after failing: events may have been lost since
     * `since` (when the last good probe was sent) without the bus noticing (a deaf
     * subscription), so every room not re-read since then must be.
     */
    private readonly onRecovered: (since: number) => void,
  ) {
    // The in-memory bus cannot lose messages; a Redis bus must prove itself first.
    this.probeOk = engine.kind === 'memory';
    if (engine.kind !== 'memory') void this.probeThenWait();
  }

  /** One probe at a time: the next starts PROBE_INTERVAL_MS after the previous ended. */
  private async probeThenWait(): Promise<void> {
    await this.probe();
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probeThenWait(), PROBE_INTERVAL_MS);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    const sentAt = Date.now();
    let ok = false;
    try {
      ok = this.engine.isConnected() && (await this.engine.bus.probe(PROBE_TIMEOUT_MS));
    } catch (error) {
      this.log.error({ err: error }, 'bus probe failed');
    }
    const recovered = ok && !this.probeOk;
    if (ok !== this.probeOk) this.log[ok ? 'info' : 'error']({ ok }, ok ? 'bus probe recovered' : 'bus probe lost: not ready');
    this.probeOk = ok;
    const since = this.lastGoodAt;
    if (ok) this.lastGoodAt = sentAt;
    if (recovered) this.onRecovered(since);
  }

  /** Why the pod is not ready, or null when it is. */
  reason(): string | null {
    if (this.draining) return 'draining';
    if (!this.engine.isConnected()) return 'store-disconnected';
    if (!this.probeOk) return 'bus-probe-failed';
    return null;
  }

  startDraining(): void {
    this.draining = true;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }
}
