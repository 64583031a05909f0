/** One simulated client: a WebSocket that joins a room, then sends and receives stamped sets. */
import type { DialectName } from '@cloudvars/protocol';
import WebSocket from 'ws';
import type { Member } from './ledger.ts';
import type { ClientSpec } from './plan.ts';
import { nowUs } from './stamp.ts';
import { encodeClientSet, encodeHandshake, parseServerFrame, type ReceivedSet, type ValueKind } from './wire.ts';

export class JoinError extends Error {
  readonly code = 'CV_ERR_LOADGEN_JOIN';
  constructor(
    message: string,
    /** WebSocket close code when the server refused the client, else undefined. */
    readonly closeCode?: number,
  ) {
    super(message);
  }
}

export interface ClientSink {
  /** Every set of every frame after the join acknowledgement, with the receive time. */
  onSets(client: LoadClient, sets: ReceivedSet[], receivedUs: number): void;
  /** The socket closed (at any time after a successful join). */
  onClose(client: LoadClient, code: number): void;
  /** A frame that is not a list of sets: a protocol bug worth reporting, not a crash. */
  onBadFrame(client: LoadClient, error: Error): void;
}

export class LoadClient implements Member {
  private ws: WebSocket | undefined;
  joined = false;
  readonly view = new Map<string, string>();
  readonly lastSeq = new Map<number, number>();
  readonly sendTimes: number[] = [];

  constructor(
    readonly spec: ClientSpec,
    private readonly sink: ClientSink,
    private readonly dialect: DialectName = 'seed',
    private readonly values: ValueKind = 'text',
  ) {}

  get index(): number {
    return this.spec.index;
  }

  get roomIndex(): number {
    return this.spec.roomIndex;
  }

  get variable(): string {
    return this.spec.variable;
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /**
   * Connect and handshake; resolves with the join latency (us) when the join is acknowledged,
   * rejects on close, error or timeout. 2020 dialects: the first frame (snapshot or
   * correction: see handshakeVariables). Scratch: neither server answers a join to a room
   * without variables, so a ping follows the handshake and its pong is the acknowledgement:
   * TurboWarp's server handles the handshake synchronously before reading the ping, and our
   * gateway reads nothing (pings included) until the join completed. A snapshot frame, when
   * the room has variables, comes before the pong and sets what the client shows.
   */
  join(variables: Record<string, string>, timeoutMs: number): Promise<number> {
    const started = nowUs();
    return new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(this.spec.url, {
        perMessageDeflate: false,
        skipUTF8Validation: true,
        handshakeTimeout: timeoutMs,
      });
      this.ws = ws;
      let settled = false;
      const fail = (err: JoinError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new JoinError(`no join acknowledgement within ${timeoutMs} ms`)), timeoutMs);
      const scratch = this.dialect === 'scratch';
      const acknowledged = (): void => {
        settled = true;
        clearTimeout(timer);
        this.joined = true;
        resolve(nowUs() - started);
      };
      ws.on('open', () => {
        ws.send(encodeHandshake(this.dialect, this.spec.room, this.spec.username, variables));
        if (scratch) ws.ping();
      });
      if (scratch) {
        ws.once('pong', () => {
          if (!settled) acknowledged();
        });
      }
      ws.on('error', (err) => fail(new JoinError(`socket error: ${err.message}`)));
      ws.on('close', (code) => {
        if (!settled) {
          fail(new JoinError(`closed with ${code} before the join was acknowledged`, code));
          return;
        }
        if (this.joined) this.sink.onClose(this, code);
      });
      if (!scratch) for (const [name, value] of Object.entries(variables)) this.view.set(name, value);
      ws.on('message', (data: Buffer) => {
        if (!settled) {
          // The join frame (snapshot or correction) sets what this client shows.
          try {
            for (const set of parseServerFrame(data.toString(), this.dialect)) this.view.set(set.variable, set.value);
          } catch (err) {
            fail(new JoinError(`bad join frame: ${(err as Error).message}`));
            return;
          }
          if (!scratch) acknowledged();
          return;
        }
        const received = nowUs();
        let sets: ReceivedSet[];
        try {
          sets = parseServerFrame(data.toString(), this.dialect);
        } catch (err) {
          this.sink.onBadFrame(this, err as Error);
          return;
        }
        this.sink.onSets(this, sets, received);
      });
    });
  }

  send(frame: string): void {
    this.ws?.send(frame);
  }

  /** One set of this client's variable, in its dialect. */
  sendSet(value: string): void {
    this.ws?.send(encodeClientSet(this.dialect, this.spec.variable, value, this.values));
  }

  /** Close politely; resolves once the socket is closed (or was never open). */
  close(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000);
    });
  }

  terminate(): void {
    this.ws?.terminate();
  }
}
