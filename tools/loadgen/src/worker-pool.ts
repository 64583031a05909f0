/**
 * The clients of one worker and the phases the coordinator drives: join, start sending,
 * window start/end (then drain), close. Sending is open-loop: each client fires on its own
 * timer at the configured rate, with a random phase, and never waits for replies.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { LoadClient, JoinError, type ClientSink } from './client.ts';
import { Histogram } from './histogram.ts';
import type { FromWorker, JoinStats, ToWorker, WorkerResult } from './ipc.ts';
import { clientsForWorker, handshakeVariables, type LoadOptions } from './plan.ts';
import { decodeStamp, encodeStamp, nowUs } from './stamp.ts';
import { encodeClientSet, type ReceivedSet } from './wire.ts';

const MAX_ERRORS_KEPT = 5;
const PROGRESS_EVERY_MS = 2000;
const DRAIN_POLL_MS = 20;
const CLOSE_GRACE_MS = 5000;

export class WorkerPool implements ClientSink {
  private options: LoadOptions | undefined;
  private clients: LoadClient[] = [];
  /** Open, joined members per room: a send is expected to reach all of them but its sender. */
  private readonly roomOpen = new Map<number, number>();
  private windowStartUs: number | undefined;
  private windowEndUs = Number.POSITIVE_INFINITY;
  private closing = false;
  private progressTimer: NodeJS.Timeout | undefined;
  private cpuAtWindowStart: NodeJS.CpuUsage | undefined;
  private loopDelay: IntervalHistogram | undefined;

  private sent = 0;
  private expected = 0;
  private delivered = 0;
  private outsideWindow = 0;
  private echoes = 0;
  private reordered = 0;
  private unstamped = 0;
  private readonly latency = new Histogram();
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
          this.windowStartUs = nowUs();
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
    this.clients = clientsForWorker(options, worker, workers).map((spec) => new LoadClient(spec, this));
    const variables = handshakeVariables(options.variables);
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
    const periodMs = 1000 / opts.rate;
    for (const client of this.clients) {
      if (!client.joined) continue;
      const frame = (): void => this.sendOne(client);
      // Random phase: clients must not fire in lock-step, or the load is a square wave.
      client.sendTimer = setTimeout(() => {
        frame();
        client.sendTimer = setInterval(frame, periodMs);
      }, Math.random() * periodMs);
    }
    if (opts.verbose) {
      this.progressTimer = setInterval(() => {
        const open = this.clients.reduce((n, c) => n + (c.isOpen ? 1 : 0), 0);
        this.post({ type: 'progress', progress: { sent: this.sent, delivered: this.delivered, open } });
      }, PROGRESS_EVERY_MS);
    }
  }

  private sendOne(client: LoadClient): void {
    if (!client.isOpen) return;
    const t = nowUs();
    client.send(encodeClientSet(client.spec.variable, encodeStamp(t, client.spec.index)));
    if (this.windowStartUs !== undefined && t >= this.windowStartUs && t < this.windowEndUs) {
      this.sent += 1;
      this.expected += (this.roomOpen.get(client.spec.roomIndex) ?? 1) - 1;
    }
  }

  onSets(client: LoadClient, sets: ReceivedSet[], receivedUs: number): void {
    for (const set of sets) {
      const stamp = decodeStamp(set.value);
      if (stamp === undefined) {
        this.unstamped += 1;
        continue;
      }
      if (stamp.sender === client.spec.index) {
        this.echoes += 1;
        continue;
      }
      const last = client.lastFrom.get(stamp.sender);
      if (last !== undefined && stamp.sentUs <= last) {
        this.reordered += 1;
        continue;
      }
      client.lastFrom.set(stamp.sender, stamp.sentUs);
      if (this.windowStartUs !== undefined && stamp.sentUs >= this.windowStartUs && stamp.sentUs < this.windowEndUs) {
        this.delivered += 1;
        this.latency.record(receivedUs - stamp.sentUs);
      } else {
        this.outsideWindow += 1;
      }
    }
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
    for (const client of this.clients) {
      clearTimeout(client.sendTimer);
      clearInterval(client.sendTimer);
      client.sendTimer = undefined;
    }
    clearInterval(this.progressTimer);
  }

  private async endWindow(): Promise<WorkerResult> {
    this.windowEndUs = nowUs();
    this.stopSending();
    const cpu = process.cpuUsage(this.cpuAtWindowStart);
    this.loopDelay?.disable();
    const drainUntil = performance.now() + this.requireOptions().drainSeconds * 1000;
    // Bounded poll for in-flight deliveries; a set lost for good shows as delivered < expected.
    while (this.delivered < this.expected && performance.now() < drainUntil) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    const loop = this.loopDelay;
    return {
      sent: this.sent,
      expected: this.expected,
      delivered: this.delivered,
      outsideWindow: this.outsideWindow,
      echoes: this.echoes,
      reordered: this.reordered,
      unstamped: this.unstamped,
      latency: this.latency.snapshot(),
      closes: { ...this.closes },
      drained: this.delivered >= this.expected,
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
