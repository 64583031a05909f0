/**
 * The clients of one worker and the phases the coordinator drives: join, start sending,
 * window start/end (then drain), close. Sending is open-loop (send-schedule.ts): each
 * client sends at the configured rate with a random phase and never waits for replies.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { LoadClient, JoinError, type ClientSink } from './client.ts';
import { Histogram } from './histogram.ts';
import type { FromWorker, JoinStats, ToWorker, WorkerResult } from './ipc.ts';
import { Ledger } from './ledger.ts';
import { clientsForWorker, handshakeVariables, stampFormat, type LoadOptions } from './plan.ts';
import { SendSchedule } from './send-schedule.ts';
import { nowUs } from './stamp.ts';
import type { ReceivedSet } from './wire.ts';

const MAX_ERRORS_KEPT = 5;
const PROGRESS_EVERY_MS = 2000;
const DRAIN_POLL_MS = 20;
/** After sending stops, deliveries have settled once no frame arrived for this long. */
const QUIET_MS = 500;
const CLOSE_GRACE_MS = 5000;
/** Scheduler tick: sends are at most this late, and bunch at most this much. */
const SEND_TICK_MS = 2;

export class WorkerPool implements ClientSink {
  private options: LoadOptions | undefined;
  private clients: LoadClient[] = [];
  /** Open, joined members per room: a send is expected to reach all of them but its sender. */
  private readonly roomOpen = new Map<number, number>();
  private ledger = new Ledger([]);
  private closing = false;
  private progressTimer: NodeJS.Timeout | undefined;
  private sendTimer: NodeJS.Timeout | undefined;
  private cpuAtWindowStart: NodeJS.CpuUsage | undefined;
  private loopDelay: IntervalHistogram | undefined;

  private readonly closes: Record<string, number> = {};
  private readonly errors: string[] = [];

  constructor(private readonly post: (msg: FromWorker) => void) {}

  handle(msg: ToWorker): void {
    const run = async (): Promise<void> => {
      switch (msg.type) {
        case 'hello':
          this.post({ type: 'ready' });
          return;
        case 'join':
          this.post({ type: 'joined', stats: await this.join(msg.options, msg.worker, msg.workers) });
          return;
        case 'start':
          this.start();
          return;
        case 'window-start':
          this.ledger.windowStartUs = nowUs();
          this.cpuAtWindowStart = process.cpuUsage();
          this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
          this.loopDelay.enable();
          return;
        case 'window-end':
          this.post({ type: 'result', result: await this.endWindow() });
          return;
        case 'close':
          await this.closeAll();
          this.post({ type: 'closed' });
          return;
      }
    };
    run().catch((err: unknown) => this.post({ type: 'error', message: (err as Error).stack ?? String(err) }));
  }

  private async join(options: LoadOptions, worker: number, workers: number): Promise<JoinStats> {
    this.options = options;
    this.clients = clientsForWorker(options, worker, workers).map((spec) => new LoadClient(spec, this, options.dialect, options.values));
    this.ledger = new Ledger(this.clients, stampFormat(options.values));
    const variables = options.dialect === 'scratch' ? {} : handshakeVariables(options.variables);
    const joinLatency = new Histogram();
    let next = 0;
    let joined = 0;
    let failed = 0;
    const runner = async (): Promise<void> => {
      while (next < this.clients.length) {
        const client = this.clients[next++];
        if (!client) return;
        try {
          joinLatency.record(await client.join(variables, options.joinTimeoutMs));
          joined += 1;
          this.roomOpen.set(client.spec.roomIndex, (this.roomOpen.get(client.spec.roomIndex) ?? 0) + 1);
        } catch (err) {
          failed += 1;
          const code = err instanceof JoinError ? err.closeCode : undefined;
          if (code !== undefined) this.countClose(code);
          if (this.errors.length < MAX_ERRORS_KEPT) this.errors.push(`${client.spec.username}: ${(err as Error).message}`);
        }
      }
    };
    const runners = Math.max(1, Math.min(options.connectConcurrency, this.clients.length));
    await Promise.all(Array.from({ length: runners }, runner));
    return { clients: this.clients.length, joined, failed, errors: [...this.errors], joinLatency: joinLatency.snapshot(), closes: { ...this.closes } };
  }

  private start(): void {
    const opts = this.requireOptions();
    const schedule = new SendSchedule(
      this.clients.filter((c) => c.joined),
      1000 / opts.rate,
      performance.now(),
    );
    this.sendTimer = setInterval(() => schedule.runDue(performance.now(), (c) => this.sendOne(c)), SEND_TICK_MS);
    if (opts.verbose) {
      this.progressTimer = setInterval(() => {
        const open = this.clients.reduce((n, c) => n + (c.isOpen ? 1 : 0), 0);
        this.post({ type: 'progress', progress: { sent: this.ledger.sentSoFar, delivered: this.ledger.deliveredSoFar, open } });
      }, PROGRESS_EVERY_MS);
    }
  }

  private sendOne(client: LoadClient): void {
    if (!client.isOpen) return;
    const value = this.ledger.recordSend(client, nowUs());
    client.sendSet(value);
  }

  onSets(client: LoadClient, sets: ReceivedSet[], receivedUs: number): void {
    this.ledger.recordFrame(sets.length, receivedUs);
    for (const set of sets) this.ledger.recordReceive(client, set.variable, set.value, receivedUs);
  }

  onClose(client: LoadClient, code: number): void {
    const room = client.spec.roomIndex;
    this.roomOpen.set(room, Math.max(0, (this.roomOpen.get(room) ?? 1) - 1));
    if (!this.closing) this.countClose(code);
  }

  onBadFrame(client: LoadClient, error: Error): void {
    if (this.errors.length < MAX_ERRORS_KEPT) this.errors.push(`${client.spec.username}: bad frame: ${error.message}`);
    this.countClose(-1);
  }

  private countClose(code: number): void {
    const key = code === -1 ? 'bad-frame' : String(code);
    this.closes[key] = (this.closes[key] ?? 0) + 1;
  }

  private stopSending(): void {
    clearInterval(this.sendTimer);
    clearInterval(this.progressTimer);
  }

  private async endWindow(): Promise<WorkerResult> {
    this.ledger.windowEndUs = nowUs();
    this.stopSending();
    const cpu = process.cpuUsage(this.cpuAtWindowStart);
    this.loopDelay?.disable();
    const drainUntil = nowUs() + this.requireOptions().drainSeconds * 1e6;
    // Bounded poll: settled = quiet and every room converged; a room that never converges
    // by the deadline turns its missing last sets into 'lost'.
    for (;;) {
      const now = nowUs();
      const quiet = now - Math.max(this.ledger.lastReceiveUs, this.ledger.windowEndUs) >= QUIET_MS * 1000;
      if ((quiet && this.ledger.allConverged()) || now >= drainUntil) break;
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    const loop = this.loopDelay;
    return {
      totals: this.ledger.totals(),
      latency: this.ledger.latency.snapshot(),
      closes: { ...this.closes },
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      eventLoopDelayP99Ms: loop && loop.count > 0 ? loop.percentile(99) / 1e6 : 0,
      eventLoopDelayMaxMs: loop && loop.count > 0 ? loop.max / 1e6 : 0,
    };
  }

  private async closeAll(): Promise<void> {
    this.closing = true;
    this.stopSending();
    const closed = Promise.all(this.clients.map((c) => c.close()));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    await Promise.race([closed, grace]);
    clearTimeout(timer);
    // A server that never answers the close handshake must not hold the run open.
    for (const c of this.clients) c.terminate();
  }

  private requireOptions(): LoadOptions {
    if (!this.options) throw new Error('CV_ERR_LOADGEN_PHASE: join must come first');
    return this.options;
  }
}
