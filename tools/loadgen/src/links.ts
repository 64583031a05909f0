/**
 * The coordinator's handle on a worker: a forked process, or a WorkerPool in this process
 * (workers = 0: for tests, and small runs where a second process would only add noise).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromWorker, Progress, ToWorker } from './ipc.ts';
import { WorkerPool } from './worker-pool.ts';

export class WorkerFailedError extends Error {
  readonly code = 'CV_ERR_LOADGEN_WORKER';
}

type Reply = Exclude<FromWorker, { type: 'progress' } | { type: 'error' }>;

export class WorkerLink {
  private readonly inbox: Reply[] = [];
  private waiter: { type: Reply['type']; resolve: (m: Reply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  progress: Progress = { sent: 0, delivered: 0, open: 0 };

  private constructor(
    private readonly sendFn: (msg: ToWorker) => void,
    private readonly disposeFn: () => void,
  ) {}

  static inProcess(): WorkerLink {
    const holder: { pool?: WorkerPool } = {};
    const link: WorkerLink = new WorkerLink(
      (msg) => holder.pool?.handle(msg),
      () => undefined,
    );
    holder.pool = new WorkerPool((msg) => link.receive(msg));
    return link;
  }

  static forked(): WorkerLink {
    // From the sources (tests) the worker runs under tsx; from the build (the bench) it is plain JS.
    const fromSource = import.meta.url.endsWith('.ts');
    const entry = fileURLToPath(new URL(fromSource ? './worker-entry.ts' : './worker-entry.js', import.meta.url));
    const execArgv = fromSource ? ['--conditions=source', '--import', import.meta.resolve('tsx')] : [];
    const child: ChildProcess = fork(entry, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const link: WorkerLink = new WorkerLink(
      (msg) => child.send(msg),
      () => {
        if (child.connected) child.disconnect();
      },
    );
    child.on('message', (msg: FromWorker) => link.receive(msg));
    child.on('exit', (code, signal) => {
      if (code !== 0) link.fail(new WorkerFailedError(`worker exited with ${code ?? signal}`));
    });
    child.on('error', (err) => link.fail(new WorkerFailedError(`worker: ${err.message}`)));
    return link;
  }

  send(msg: ToWorker): void {
    this.sendFn(msg);
  }

  /** The next reply of the given type (replies arrive in phase order, one per command). */
  next<T extends Reply['type']>(type: T): Promise<Extract<Reply, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    const idx = this.inbox.findIndex((m) => m.type === type);
    if (idx >= 0) {
      const [msg] = this.inbox.splice(idx, 1);
      return Promise.resolve(msg as Extract<Reply, { type: T }>);
    }
    return new Promise((resolve, reject) => {
      this.waiter = { type, resolve: (m) => resolve(m as Extract<Reply, { type: T }>), reject };
    });
  }

  dispose(): void {
    this.disposeFn();
  }

  private receive(msg: FromWorker): void {
    if (msg.type === 'progress') {
      this.progress = msg.progress;
      return;
    }
    if (msg.type === 'error') {
      this.fail(new WorkerFailedError(msg.message));
      return;
    }
    if (this.waiter && this.waiter.type === msg.type) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(msg);
      return;
    }
    this.inbox.push(msg);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }
}
