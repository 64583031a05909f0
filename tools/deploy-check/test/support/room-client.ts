import WebSocket from 'ws';

/**
 * A test client that behaves like a cloud-variable project: it joins one room, writes its
 * own variable with increasing numbers, mirrors every other variable, and reconnects by
 * itself when the server restarts (1012) — the way a client rides through a drain.
 */
export interface ClientOptions {
  url: string;
  room: string;
  username: string;
  /** Every variable of the room (the handshake must name all of them). */
  variables: readonly string[];
  /** The one variable this client writes. */
  own: string;
}

/** Close codes after which the client reconnects: server restart, and a username still
 * held by our previous connection's lease (released by the draining pod shortly after). */
const RECONNECT_CODES = new Set([1012, 4002]);
const MAX_RECONNECTS = 50;

export class RoomClient {
  readonly view = new Map<string, number>();
  /** Every close code the server sent this client, in order. */
  readonly closeCodes: number[] = [];
  /** "variable: a -> b" whenever a mirrored variable went backwards (an ordering bug). */
  readonly backwards: string[] = [];
  /** Snapshots received (one per join into an existing room). */
  snapshots = 0;
  /** Sets written since the last (re)join. */
  setsSinceJoin = 0;
  lastSent = 0;
  /** Own sets the server never applied: sent on a socket that the drain was closing. */
  lostInFlight = 0;
  private socket: WebSocket | undefined;
  private joined = false;
  private stopped = false;
  private reconnects = 0;
  private failure: string | undefined;

  constructor(private readonly opts: ClientOptions) {
    for (const v of opts.variables) this.view.set(v, 0);
  }

  get isJoined(): boolean {
    return this.joined;
  }

  /** Set when the client gave up or saw something a client must never see. */
  get error(): string | undefined {
    return this.failure;
  }

  connect(): void {
    const socket = new WebSocket(this.opts.url, { perMessageDeflate: false });
    this.socket = socket;
    this.joined = false;
    socket.on('open', () => {
      const variables = Object.fromEntries([...this.view].map(([name, value]) => [name, String(value)]));
      socket.send(JSON.stringify({ kind: 'handshake', room: this.opts.room, username: this.opts.username, variables }));
    });
    socket.on('message', (data: WebSocket.RawData) => this.onFrame(String(data)));
    socket.on('close', (code) => this.onClose(code));
    // A refused or reset connection ends in 'close' too (code 1006); the reason is there.
    socket.on('error', () => undefined);
  }

  /** Marks a client that created the room (it gets no snapshot) as joined. */
  markJoined(): void {
    this.joined = true;
  }

  /** Writes the next value of the own variable if connected; returns whether it sent. */
  writeNext(): boolean {
    if (!this.joined || this.socket?.readyState !== WebSocket.OPEN) return false;
    this.lastSent += 1;
    this.view.set(this.opts.own, this.lastSent);
    this.socket.send(JSON.stringify({ kind: 'set', variable: this.opts.own, value: String(this.lastSent) }));
    this.setsSinceJoin += 1;
    return true;
  }

  close(): void {
    this.stopped = true;
    this.socket?.close(1000);
  }

  private onFrame(frame: string): void {
    const messages = frame
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { kind: string; variable?: string; value?: string });
    const sets = messages.filter((m) => m.kind === 'set');
    // A join into an existing room is answered with every value in one frame.
    const isSnapshot = !this.joined && sets.length === this.opts.variables.length;
    for (const msg of sets) {
      if (msg.variable === undefined || msg.value === undefined || !this.view.has(msg.variable)) {
        this.failure = `unexpected message ${JSON.stringify(msg)}`;
        continue;
      }
      const value = Number(msg.value);
      const before = this.view.get(msg.variable) ?? 0;
      if (msg.variable === this.opts.own) {
        if (isSnapshot && value < this.lastSent) this.lostInFlight += this.lastSent - value;
        // Keep counting up from what we sent: the next write is newer either way.
        this.view.set(msg.variable, Math.max(value, this.lastSent));
        this.lastSent = Math.max(value, this.lastSent);
        continue;
      }
      if (value < before) this.backwards.push(`${msg.variable}: ${before} -> ${value}`);
      this.view.set(msg.variable, value);
    }
    if (isSnapshot) {
      this.snapshots += 1;
      this.joined = true;
      this.setsSinceJoin = 0;
    }
  }

  private onClose(code: number): void {
    this.joined = false;
    if (this.stopped) return;
    this.closeCodes.push(code);
    const retryable = RECONNECT_CODES.has(code) || code === 1006;
    if (!retryable || this.reconnects >= MAX_RECONNECTS) {
      this.failure = `closed with ${code} after ${this.reconnects} reconnects`;
      return;
    }
    this.reconnects += 1;
    // Client back-off (as a real client's), growing with each attempt.
    setTimeout(() => this.connect(), 20 * this.reconnects).unref();
  }
}
