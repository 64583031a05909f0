/**
 * SEND_BUFFER_POD_LIMIT_BYTES: the unsent data every socket of the pod holds together, client
 * sessions and live room pages alike. Each kind checks its own sockets against
 * SEND_BUFFER_LIMIT_BYTES; only this sweep sees them all, so pages on slow links (each
 * holding up to SEND_BUFFER_LIMIT_BYTES plus a room's snapshot) count toward the memory the
 * pod cannot spare as clients do. Beyond the limit, the largest backlogs are dropped first.
 */
import type { FastifyBaseLogger } from 'fastify';

/** One socket's unsent data: a client's session or a live page. */
export interface UnsentDataHolder {
  /** Bytes written to its socket that the peer has not read yet. */
  readonly unsentBytes: number;
  /** Closes it (1008, 'pod-send-buffer-full'); nothing if it is already closing. */
  dropForPodLimit(): void;
}

/** Where the holders of one kind are (the socket registries of clients and of live pages: sockets/socket-registry.ts). */
export interface UnsentDataHolders {
  readonly unsentDataHolders: Iterable<UnsentDataHolder>;
}

/** How often the pod's unsent data is added up (as each kind's own sweep). */
const POD_SWEEP_MS = 1_000;

export class PodSendBudget {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly limitBytes: number,
    private readonly kinds: readonly UnsentDataHolders[],
    private readonly log: FastifyBaseLogger,
  ) {
    this.timer = setInterval(() => this.sweep(), POD_SWEEP_MS);
    this.timer.unref();
  }

  /** Drops the largest backlogs until the pod's unsent data is back under the limit. */
  sweep(): void {
    const holders: UnsentDataHolder[] = [];
    let total = 0;
    for (const kind of this.kinds) {
      for (const holder of kind.unsentDataHolders) {
        holders.push(holder);
        total += holder.unsentBytes;
      }
    }
    if (total <= this.limitBytes) return;
    this.log.warn({ unsentBytes: total, limit: this.limitBytes }, 'pod send buffer over SEND_BUFFER_POD_LIMIT_BYTES: dropping the largest backlogs');
    holders.sort((a, b) => b.unsentBytes - a.unsentBytes);
    for (const holder of holders) {
      if (total <= this.limitBytes) break;
      total -= holder.unsentBytes;
      holder.dropForPodLimit();
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
