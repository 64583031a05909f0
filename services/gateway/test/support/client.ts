/**
 * A protocol client for tests: sends frames, records every frame received and the close
 * code, and tracks the client's view of each variable the way a Scratch client would
 * (its own sets apply locally at once; received sets overwrite): as text in `view`, and with
 * the type it was received with in `values`.
 */
import { encodeClientSet, encodeHandshake, parseServerFrame, type CloudValue, type DialectName } from '@cloudvars/protocol';
import WebSocket from 'ws';
import { until } from '@cloudvars/test-support/until';
import type { RunningGateway } from './gateway.ts';

export { until };

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

export class TestClient {
  readonly frames: string[] = [];
  /** Each variable as text: what any dialect's client shows (a number as `String(n)`). */
  readonly view = new Map<string, string>();
  /** Each variable as this client holds it: a Scratch 3 client's numbers stay numbers ("Value types"). */
  readonly values = new Map<string, CloudValue>();
  closed: Closed | null = null;
  private readonly closedPromise: Promise<Closed>;

  private constructor(
    readonly socket: WebSocket,
    readonly dialect: DialectName,
  ) {
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        resolve(this.closed);
      });
    });
    socket.on('message', (data, isBinary) => {
      const text = isBinary ? '<binary>' : String(data);
      this.frames.push(text);
      for (const set of parseServerFrame(text, this.dialect)) {
        this.view.set(set.variable, set.value);
        this.values.set(set.variable, set.received);
      }
    });
    // Errors (refused connection, server reset) show up as a close; keep the process alive.
    socket.on('error', () => undefined);
  }

  static async connect(url: string, options: { dialect?: DialectName; autoPong?: boolean; headers?: Record<string, string> } = {}): Promise<TestClient> {
    const socket = new WebSocket(url, {
      autoPong: options.autoPong ?? true,
      perMessageDeflate: false,
      ...(options.headers ? { headers: options.headers } : {}),
    });
    const client = new TestClient(socket, options.dialect ?? 'seed');
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  /** Connects and sends a handshake; resolves once the socket is open (not once joined). */
  static async join(
    url: string,
    room: string,
    username: string,
    variables: Record<string, string> | ReadonlyArray<readonly [string, string]>,
    dialect: DialectName = 'seed',
  ): Promise<TestClient> {
    const client = await TestClient.connect(url, { dialect });
    client.send(encodeHandshake(dialect, room, username, variables));
    for (const [name, value] of Array.isArray(variables) ? variables : Object.entries(variables)) {
      client.view.set(name, value);
      client.values.set(name, value);
    }
    return client;
  }

  send(text: string): void {
    this.socket.send(text);
  }

  sendJson(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  set(variable: string, value: string): void {
    this.view.set(variable, value);
    this.values.set(variable, value);
    this.send(encodeClientSet(this.dialect, variable, value));
  }

  /** The code the server closed with. */
  waitClose(): Promise<Closed> {
    return this.closedPromise;
  }

  /** Resolves when `count` frames have arrived in total; returns them. */
  async waitFrames(count: number, timeoutMs = 5_000): Promise<string[]> {
    await until(() => this.frames.length >= count || this.closed !== null, { timeoutMs, what: `${count} frames` });
    if (this.frames.length < count) throw new Error(`closed with ${this.closed?.code} after ${this.frames.length} of ${count} frames`);
    return this.frames.slice(0, count);
  }

  close(code = 1000): void {
    this.socket.close(code);
  }
}

/**
 * Proves a client is joined: the server answers only joined clients' sets, so another
 * member of the room sees this one's set. Used where a handshake gets no reply.
 */
export async function joinedTogether(a: TestClient, b: TestClient, variable: string, value: string): Promise<void> {
  a.set(variable, value);
  await until(() => b.view.get(variable) === value || b.closed !== null || a.closed !== null, { what: `${variable}=${value} to arrive` });
  if (b.view.get(variable) !== value) throw new Error(`set did not arrive: a closed ${a.closed?.code}, b closed ${b.closed?.code}`);
}

/** A client in the room on `pod` (a Scratch 3 client unless told), once the store counts it. */
export async function joined(
  pod: RunningGateway,
  room: string,
  user: string,
  dialect: DialectName = 'scratch',
  variables: Readonly<Record<string, string>> = {},
): Promise<TestClient> {
  const before = await pod.engine.store.memberCount(room);
  const client = await TestClient.join(pod.url, room, user, variables, dialect);
  await until(async () => client.closed !== null || (await pod.engine.store.memberCount(room)) > before, { what: `${user} to join` });
  if (client.closed !== null) throw new Error(`${user} was closed with ${client.closed.code}`);
  return client;
}

/**
 * Joins a today's client and tells how it went: 'joined', or the code it was closed with.
 * `address` comes as X-Forwarded-For (the gateway must have TRUST_PROXY) instead of 127.0.0.1.
 */
export async function joinOutcome(pod: RunningGateway, room: string, user: string, address?: string): Promise<number | 'joined'> {
  const before = await pod.engine.store.memberCount(room);
  const client = await TestClient.connect(pod.url, { dialect: 'scratch', ...(address === undefined ? {} : { headers: { 'x-forwarded-for': address } }) });
  client.send(encodeHandshake('scratch', room, user, {}));
  await until(async () => client.closed !== null || (await pod.engine.store.memberCount(room)) > before, { what: `${user} to join or be refused` });
  if (client.closed !== null) return client.closed.code;
  client.close();
  await until(async () => (await pod.engine.store.memberCount(room)) === before, { what: `${user} to leave` });
  return 'joined';
}

/** What an upgrade attempt got: 101 when the socket opened, else the HTTP status and its Retry-After. */
export interface UpgradeAnswer {
  readonly status: number;
  readonly retryAfter: string | null;
}

/** Tries one WebSocket upgrade (with `headers`) and closes it at once, whatever it got. */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers, perMessageDeflate: false });
    socket.once('open', () => {
      socket.terminate();
      resolve({ status: 101, retryAfter: null });
    });
    socket.once('unexpected-response', (_request, response) => {
      const retryAfter = response.headers['retry-after'];
      resolve({ status: response.statusCode ?? 0, retryAfter: typeof retryAfter === 'string' ? retryAfter : null });
      socket.terminate();
    });
    socket.once('error', () => resolve({ status: 0, retryAfter: null }));
  });
}
