/**
 * A raw WebSocket client speaking today's Scratch 3 cloud protocol
 * (`{"method":"handshake","project_id":…,"user":…}`, `{"method":"set","name":…,"value":…}`,
 * server frames of `set` lines separated by `\n`), for tests and the shared exchange script.
 *
 * It records every frame received, split into lines, and how the server closed it, and
 * keeps a view of each variable (the last value received). Waits never throw: they resolve
 * true when the condition holds, false when the socket closed first or the wait was
 * cancelled, and false after their timeout with the wait noted in `stalled`, so a script
 * that expected one behaviour still finishes, with a record, against a server that shows
 * another.
 */
import WebSocket from 'ws';

export const DEFAULT_WAIT_MS = 5_000;

export interface ScratchSocketOptions {
  /** Extra upgrade request headers (e.g. a Cookie). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Wait timeout (default 5 s): bounds a failing exchange, never decides a passing one. */
  readonly waitMs?: number;
}

interface Waiter {
  readonly test: () => boolean;
  readonly settle: (held: boolean) => void;
}

export class ScratchSocket {
  /** Every frame received: text as it came, binary as `<binary N bytes>`. */
  readonly frames: string[] = [];
  /** Last value received for each variable (from `set` lines). */
  readonly view = new Map<string, unknown>();
  /** The close code, once closed (1006 when the connection dropped without a close frame). */
  closeCode: number | null = null;
  closeReason = '';
  /** Waits that timed out: "<label>: <what>". */
  readonly stalled: string[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly waitMs: number;

  private constructor(
    readonly label: string,
    readonly socket: WebSocket,
    options: ScratchSocketOptions,
  ) {
    this.waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
    socket.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${rawLength(data)} bytes>` : rawText(data);
      this.frames.push(text);
      if (!isBinary) {
        for (const line of text.split('\n')) {
          const message = parseObject(line);
          if (message?.method === 'set' && typeof message.name === 'string') this.view.set(message.name, message.value);
        }
      }
      this.check();
    });
    socket.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.check();
      // Nothing more can arrive: every pending wait has its answer now.
      for (const waiter of [...this.waiters]) waiter.settle(false);
    });
    // A refused or reset connection shows up as a close; keep the process alive.
    socket.on('error', () => undefined);
  }

  /** Opens a socket to `url` and resolves once it is open (or closed: refused at upgrade). */
  static async connect(url: string, label: string, options: ScratchSocketOptions = {}): Promise<ScratchSocket> {
    const socket = new WebSocket(url, { headers: { ...options.headers }, perMessageDeflate: false });
    const client = new ScratchSocket(label, socket, options);
    await new Promise<void>((resolve) => {
      socket.once('open', () => resolve());
      socket.once('close', () => resolve());
    });
    return client;
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Lines of every text frame received, in order (empty lines dropped). */
  lines(): string[] {
    return this.frames.flatMap((frame) => (frame.startsWith('<binary ') ? [frame] : frame.split('\n').filter((line) => line !== '')));
  }

  /** Sends a message (JSON-encoded) or a raw text frame; does nothing once the socket is not open. */
  send(message: string | object): void {
    if (!this.open) return;
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  sendBinary(bytes: Uint8Array): void {
    if (!this.open) return;
    this.socket.send(bytes, { binary: true });
  }

  handshake(projectId: unknown, user: unknown): void {
    this.send({ method: 'handshake', project_id: projectId, user });
  }

  set(name: string, value: unknown): void {
    this.send({ method: 'set', name, value });
  }

  /** Resolves true once `test` holds; false if the socket closes first, on cancel or on timeout. */
  waitFor(test: () => boolean, what: string, timeoutMs = this.waitMs): Promise<boolean> {
    if (test()) return Promise.resolve(true);
    if (this.closeCode !== null) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.stalled.push(`${this.label}: ${what} (${timeoutMs} ms)`);
        waiter.settle(false);
      }, timeoutMs);
      const waiter: Waiter = {
        test,
        settle: (held) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(held);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Resolves true once this socket's view holds `name` = `value` (compared as strings). */
  waitSet(name: string, value: unknown, timeoutMs?: number): Promise<boolean> {
    return this.waitFor(() => this.view.has(name) && String(this.view.get(name)) === String(value), `set ${name}=${String(value)}`, timeoutMs);
  }

  /** Resolves true once `count` frames have arrived in total. */
  waitFrames(count: number, timeoutMs?: number): Promise<boolean> {
    return this.waitFor(() => this.frames.length >= count, `${count} frame(s)`, timeoutMs);
  }

  /** Resolves true once the server has closed the socket. */
  waitClose(timeoutMs?: number): Promise<boolean> {
    return this.waitFor(() => this.closeCode !== null, 'close', timeoutMs);
  }

  /** Settles every pending wait with false (not a stall). */
  cancelWaits(): void {
    for (const waiter of [...this.waiters]) waiter.settle(false);
  }

  /** Closes (1000) and resolves once closed; terminates after 1 s without the server's close. */
  async close(): Promise<void> {
    this.cancelWaits();
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.socket.terminate(), 1_000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate();
      else this.socket.close(1000);
    });
  }

  private check(): void {
    for (const waiter of [...this.waiters]) if (waiter.test()) waiter.settle(true);
  }
}

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

function rawLength(data: WebSocket.RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

/** A line as a JSON object, or undefined. */
export function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
