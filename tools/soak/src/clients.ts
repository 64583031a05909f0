/**
 * The soak's clients. Well-behaved ones play in rooms of every dialect: each has a home
 * gateway (where a load balancer would keep sending it), reconnects when it is closed as
 * today's clients do, leaves and comes back, reloads its page, moves to another room, and
 * sets stamped values (send time, sequence, sender) so receivers measure latency.
 * Misbehaving ones each try one thing the gateway must refuse and are counted by the close
 * code they get.
 */
import { encodeClientSet, encodeHandshake, parseServerFrame, type CloudValue, type DialectName } from '@cloudvars/protocol';
import { decodeStamp, encodeStamp, Histogram, nowUs } from '@cloudvars/loadgen';
import WebSocket from 'ws';

export interface Room {
  readonly name: string;
  /** 'mixed': 2020 clients declare the variables, today's clients set only those. */
  readonly kind: 'mixed' | 'scratch';
  readonly variables: readonly string[];
  readonly members: Set<GoodClient>;
}

/** Where clients connect: the live gateways, by slot. */
export interface Balancer {
  /** The URL of slot `home` if it takes clients, else of another slot that does (null: none). */
  pick(home: number): { slot: number; url: string } | null;
}

export interface ClientStats {
  /** Close codes well-behaved clients got (not their own closes), by code. */
  readonly closes: Map<number, number>;
  /** Set -> delivery latency, in the current interval. */
  latency: Histogram;
  deliveries: number;
  setsSent: number;
  /** Frames a client could not read (a protocol bug). */
  badFrames: number;
}

export function newStats(): ClientStats {
  return { closes: new Map(), latency: new Histogram(), deliveries: 0, setsSent: 0, badFrames: 0 };
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 1_200;
/** Refusals a client waits out longer: the username still held, the room's names not yet matching, a full room (1013 for Scratch 3 clients, 4003 for 2020 ones). */
const SLOW_RETRY_CODES = new Set([1013, 4001, 4002, 4003]);

export class GoodClient {
  ws: WebSocket | null = null;
  /** The slot it is connected to now. */
  slot = -1;
  /** Whether it should be connected (false while it has left on purpose). */
  wanted = true;
  /** Frames received on the current connection. */
  framesNow = 0;
  openedUs = 0;
  /** Each variable as this client holds it: a Scratch 3 client's numbers stay numbers (PROTOCOL.md, "Value types"). */
  readonly view = new Map<string, CloudValue>();
  private seq = 0;
  private setTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private sending = true;

  constructor(
    readonly id: number,
    public room: Room,
    readonly dialect: DialectName,
    readonly username: string,
    readonly address: string,
    readonly home: number,
    private readonly balancer: Balancer,
    private readonly stats: ClientStats,
    private readonly setIntervalMs: number,
    private readonly random: () => number,
  ) {}

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Connects (to its home if it takes clients) and joins its room. */
  connect(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (!this.wanted || this.ws !== null) return;
    const target = this.balancer.pick(this.home);
    if (target === null) {
      this.retry(1_000);
      return;
    }
    const ws = new WebSocket(target.url, { perMessageDeflate: false, headers: { 'x-forwarded-for': this.address } });
    this.ws = ws;
    this.slot = target.slot;
    this.framesNow = 0;
    ws.on('open', () => {
      this.openedUs = nowUs();
      const initial = Object.fromEntries(this.room.variables.map((name) => [name, '0']));
      ws.send(encodeHandshake(this.dialect, this.room.name, this.username, this.dialect === 'scratch' ? {} : initial));
      this.scheduleSet();
    });
    ws.on('message', (data: Buffer) => this.onFrame(data.toString()));
    ws.on('error', () => undefined); // a refused or reset socket reports through 'close'
    ws.on('close', (code) => this.onClose(ws, code));
  }

  private onFrame(text: string): void {
    this.framesNow += 1;
    let sets;
    try {
      sets = parseServerFrame(text, this.dialect);
    } catch {
      this.stats.badFrames += 1; // counted, reported: the server broke the protocol
      return;
    }
    const now = nowUs();
    for (const { variable, value, received } of sets) {
      this.view.set(variable, received);
      const stamp = decodeStamp(value);
      // Values set before this connection opened come from the join's snapshot, not a delivery.
      if (stamp === undefined || stamp.sender === this.id || stamp.sentUs < this.openedUs) continue;
      this.stats.latency.record(now - stamp.sentUs);
      this.stats.deliveries += 1;
    }
  }

  private onClose(ws: WebSocket, code: number): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.clearSet();
    if (!this.wanted) return;
    this.stats.closes.set(code, (this.stats.closes.get(code) ?? 0) + 1);
    const slow = SLOW_RETRY_CODES.has(code);
    this.retry(slow ? 1_000 + this.random() * 2_000 : RECONNECT_MIN_MS + this.random() * (RECONNECT_MAX_MS - RECONNECT_MIN_MS));
  }

  private retry(ms: number): void {
    if (this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, ms);
  }

  private scheduleSet(): void {
    this.clearSet();
    if (!this.sending) return;
    this.setTimer = setTimeout(() => this.sendSet(), this.setIntervalMs * (0.5 + this.random()));
  }

  private clearSet(): void {
    if (this.setTimer !== null) clearTimeout(this.setTimer);
    this.setTimer = null;
  }

  private sendSet(): void {
    this.setTimer = null;
    if (!this.connected || !this.sending) return;
    this.seq = (this.seq + 1) % 1_000_000;
    const variable = this.room.variables[Math.floor(this.random() * this.room.variables.length)] as string;
    this.set(variable, encodeStamp(nowUs(), this.seq, this.id));
    this.scheduleSet();
  }

  /** Sets a value as a Scratch client does: shown at once, sent to the server. */
  set(variable: string, value: string): void {
    if (!this.connected) return;
    this.view.set(variable, value);
    this.ws?.send(encodeClientSet(this.dialect, variable, value));
    this.stats.setsSent += 1;
  }

  /** Stops or resumes its steady sets. */
  setSending(on: boolean): void {
    this.sending = on;
    if (on && this.connected) this.scheduleSet();
    if (!on) this.clearSet();
  }

  /** Closes on purpose (a leave, a reload): no reconnect unless `connect` is called again. */
  leave(code = 1000): Promise<void> {
    this.wanted = false;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.clearSet();
    const ws = this.ws;
    this.ws = null;
    if (ws === null) return Promise.resolve();
    return new Promise((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) {
        resolve();
        return;
      }
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(code);
      setTimeout(() => ws.terminate(), 2_000).unref();
    });
  }

  /** Comes back (after a leave), to its room. */
  rejoin(): void {
    this.wanted = true;
    this.view.clear();
    this.connect();
  }
}

/** What a misbehaving client does, and the close codes that are right for it. */
export interface BadKind {
  readonly name: string;
  /** Close codes it may get; 'self' when it ends the connection itself. */
  readonly expect: ReadonlyArray<number | 'self'>;
  readonly run: (url: string, address: string, room: string) => WebSocket;
}

function socket(url: string, address: string, options: WebSocket.ClientOptions = {}): WebSocket {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...options, headers: { 'x-forwarded-for': address, ...(options.headers ?? {}) } });
  ws.on('error', () => undefined);
  return ws;
}

function onOpen(ws: WebSocket, act: () => void): WebSocket {
  ws.on('open', act);
  return ws;
}

export const BAD_KINDS: readonly BadKind[] = [
  {
    name: 'not JSON',
    expect: [4000],
    run: (url, address) =>
      onOpen(socket(url, address), function (this: WebSocket) {
        this.send('{not json');
      }),
  },
  { name: 'no handshake', expect: [4000], run: (url, address) => socket(url, address) },
  {
    name: 'binary frame',
    expect: [4000],
    run: (url, address) =>
      onOpen(socket(url, address), function (this: WebSocket) {
        this.send(Buffer.from([1, 2, 3]), { binary: true });
      }),
  },
  {
    name: 'oversized frame',
    expect: [1009],
    run: (url, address) =>
      onOpen(socket(url, address), function (this: WebSocket) {
        this.send('x'.repeat(65_537));
      }),
  },
  {
    name: 'invalid UTF-8',
    expect: [1007],
    run: (url, address) =>
      onOpen(socket(url, address), function (this: WebSocket) {
        this.send(Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0x7d]), { binary: false });
        // ...and keeps sending: the close frame must still arrive.
        for (let i = 0; i < 20; i++) this.send('{"kind":"set"}');
      }),
  },
  {
    name: '2020 client over the rate',
    expect: [4004],
    run: (url, address, room) =>
      onOpen(socket(url, address), function (this: WebSocket) {
        this.send(encodeHandshake('seed', room, 'speedy', { '☁ a': '0' }));
        for (let i = 0; i < 60; i++) this.send(encodeClientSet('seed', '☁ a', String(i)));
      }),
  },
  {
    name: 'flood of frames',
    // A burst is paced, never closed (issue 17): the flooder stays until it leaves by itself
    // (1000); a 4000 or any other code from the server is a failure.
    expect: [1000],
    run: (url, address, room) =>
      onOpen(socket(url, address), function (this: WebSocket) {
        this.send(encodeHandshake('scratch', room, 'flood', {}));
        // Once in the room (frames held during a join are a case of their own), far over the rate limit.
        setTimeout(() => {
          for (let i = 0; i < 600 && this.readyState === this.OPEN; i++) this.send(encodeClientSet('scratch', '☁ a', String(i)));
          setTimeout(() => this.close(1000), 2_000);
        }, 1_000);
      }),
  },
  {
    name: 'Scratch session cookie',
    expect: [4005],
    run: (url, address) => socket(url, address, { headers: { cookie: 'scratchsessionsid=abc' } }),
  },
  {
    name: 'never answers pings',
    // Dropped by the ping round: the server ends the socket without a close frame.
    expect: [1006],
    run: (url, address, room) =>
      onOpen(socket(url, address, { autoPong: false }), function (this: WebSocket) {
        this.send(encodeHandshake('scratch', room, 'deaf', {}));
      }),
  },
  {
    name: 'vanishes without a close',
    expect: ['self'],
    run: (url, address, room) =>
      onOpen(socket(url, address), function (this: WebSocket) {
        this.send(encodeHandshake('legacy', room, 'ghost', { '☁ a': '0' }));
        setTimeout(() => this.terminate(), 500);
      }),
  },
];
