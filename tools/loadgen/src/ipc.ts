/**
 * Messages between the coordinator and its workers (child_process IPC or in-process).
 * The coordinator owns the clock of the run: each phase starts when its command arrives,
 * so every worker's measured window is the coordinator's window give or take IPC latency.
 */
import type { HistogramSnapshot } from './histogram.ts';
import type { LedgerTotals } from './ledger.ts';
import type { LoadOptions } from './plan.ts';

export type ToWorker =
  | { readonly type: 'hello' }
  | { readonly type: 'join'; readonly options: LoadOptions; readonly worker: number; readonly workers: number }
  | { readonly type: 'start' }
  | { readonly type: 'window-start' }
  | { readonly type: 'window-end' }
  | { readonly type: 'close' };

export interface JoinStats {
  readonly clients: number;
  readonly joined: number;
  readonly failed: number;
  /** First error texts, for the operator. */
  readonly errors: readonly string[];
  readonly joinLatency: HistogramSnapshot;
  /** Close codes of refused joins. */
  readonly closes: Readonly<Record<string, number>>;
}

export interface WorkerResult {
  readonly totals: LedgerTotals;
  readonly latency: HistogramSnapshot;
  /** Close codes of sockets that closed before the coordinator said so. */
  readonly closes: Readonly<Record<string, number>>;
  /** This worker's own CPU over the window: if it is near 1 core, latency includes its queueing. */
  readonly cpuSeconds: number;
  readonly eventLoopDelayP99Ms: number;
  readonly eventLoopDelayMaxMs: number;
}

export interface Progress {
  readonly sent: number;
  readonly delivered: number;
  readonly open: number;
}

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'joined'; readonly stats: JoinStats }
  | { readonly type: 'progress'; readonly progress: Progress }
  | { readonly type: 'result'; readonly result: WorkerResult }
  | { readonly type: 'closed' }
  | { readonly type: 'error'; readonly message: string };

/** One side's view of a channel to the other side. */
export interface Channel<Out, In> {
  send(msg: Out): void;
  onMessage(handler: (msg: In) => void): void;
}
