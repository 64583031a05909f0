/**
 * A loopback TCP proxy in front of a real Redis that can freeze chosen connections: their
 * sockets stay open but nothing more passes either way, like a half-open connection whose
 * peer vanished. Used to prove the engine repairs a subscriber that silently stopped.
 *
 * It also plays a bad network between a gateway and Redis, on every link (open or new):
 * added latency, a black hole (bytes stop both ways, sockets stay open), half open (one
 * direction stops), a slow link (a bandwidth cap) and resets (TCP RST). Like TCP, these
 * never drop or reorder bytes of a link that stays open: held bytes pass, in order, once
 * the fault ends (`heal`), as a partition that heals before TCP gives up would deliver
 * them. Only `freeze` discards bytes (its links must be reconnected to be used again).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** `up`: client -> target (commands); `down`: target -> client (replies, pub/sub messages). */
export type Direction = 'up' | 'down';

/** Bytes held for one direction of a link before its source is paused (TCP then pushes back). */
const HIGH_WATER_BYTES = 256 * 1024;

/** A byte rate shared by every link in one direction: a token bucket with 100 ms of burst. */
class Bandwidth {
  private tokens = 0;
  private at = performance.now();
  constructor(readonly bytesPerSecond: number) {
    this.tokens = this.burst;
  }
  private get burst(): number {
    return Math.max(64, this.bytesPerSecond / 10);
  }
  /** How many of `wanted` bytes may pass now (0 when none). */
  take(wanted: number): number {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.bytesPerSecond) / 1000);
    this.at = now;
    const allowed = Math.min(wanted, Math.floor(this.tokens));
    this.tokens -= allowed;
    return allowed;
  }
  /** Ms until `bytes` more may pass. */
  waitFor(bytes: number): number {
    return Math.max(1, ((bytes - this.tokens) * 1000) / this.bytesPerSecond);
  }
}

/** One direction of a link: chunks wait here for their time, the bandwidth, or the end of a stop. */
interface Pipe {
  readonly direction: Direction;
  readonly from: Socket;
  readonly to: Socket;
  readonly queue: Array<{ chunk: Buffer; due: number }>;
  held: number;
  lastDue: number;
  timer: NodeJS.Timeout | null;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Everything the client sent so far (to recognise it, e.g. by CLIENT SETNAME). */
  sent: string;
  frozen: boolean;
  readonly pipes: readonly [Pipe, Pipe];
}

export interface TcpProxyStats {
  /** Links open now. */
  readonly links: number;
  /** Links accepted so far (reset ones included). */
  readonly accepted: number;
  /** Bytes passed on, per direction. */
  readonly passed: Readonly<Record<Direction, number>>;
  /** Bytes waiting in the proxy now, per direction. */
  readonly held: Readonly<Record<Direction, number>>;
}

export interface TcpProxy {
  readonly url: string;
  readonly port: number;
  /** Freezes every open connection whose client sent `marker`; returns how many. */
  freeze(marker: string): number;
  /** Every chunk, each way, waits `ms` more before it passes (order kept); 0 ends it. */
  latency(ms: number): void;
  /** Nothing passes either way on any link, open or new; sockets stay open. Until `heal`. */
  blackhole(): void;
  /** Nothing passes in `direction` on any link, open or new; the other way flows. Until `heal`. */
  halfOpen(direction: Direction): void;
  /** Caps each direction at `bytesPerSecond`, shared by every link; null lifts the cap. */
  throttle(bytesPerSecond: number | null): void;
  /**
   * Resets (TCP RST) every open link; returns how many. With `untilHealed`, every new
   * link is reset as soon as it is accepted, until `heal`.
   */
  reset(options?: { untilHealed?: boolean }): number;
  /** Ends every fault but `freeze`: held bytes pass in order, no latency, no cap, no resets. */
  heal(): void;
  stats(): TcpProxyStats;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const links = new Set<Link>();
  let delayMs = 0;
  const stopped: Record<Direction, boolean> = { up: false, down: false };
  let bandwidth: Record<Direction, Bandwidth> | null = null;
  let resetting = false;
  let accepted = 0;
  const passed: Record<Direction, number> = { up: 0, down: 0 };

  /** Passes on what is due in one direction of a link, as far as the faults allow. */
  function pump(pipe: Pipe): void {
    if (pipe.timer !== null) {
      clearTimeout(pipe.timer);
      pipe.timer = null;
    }
    if (pipe.to.destroyed) return;
    const later = (ms: number): void => {
      pipe.timer = setTimeout(() => pump(pipe), ms);
    };
    while (!stopped[pipe.direction] && pipe.queue.length > 0) {
      const head = pipe.queue[0]!;
      const wait = head.due - performance.now();
      if (wait > 0) {
        later(wait);
        break;
      }
      const cap = bandwidth?.[pipe.direction];
      const size = cap ? cap.take(head.chunk.length) : head.chunk.length;
      if (size === 0) {
        later(cap!.waitFor(Math.min(head.chunk.length, 1024)));
        break;
      }
      pipe.to.write(head.chunk.subarray(0, size));
      if (size < head.chunk.length) head.chunk = head.chunk.subarray(size);
      else pipe.queue.shift();
      pipe.held -= size;
      passed[pipe.direction] += size;
    }
    // Held bytes are read into the proxy (observable in stats) up to a bound; beyond it the
    // source is not read: TCP pushes back on the sender.
    if (pipe.held >= HIGH_WATER_BYTES) pipe.from.pause();
    else pipe.from.resume();
  }

  function pumpAll(): void {
    for (const link of links) for (const pipe of link.pipes) pump(pipe);
  }

  function pipeOf(direction: Direction, from: Socket, to: Socket): Pipe {
    return { direction, from, to, queue: [], held: 0, lastDue: 0, timer: null };
  }

  function receive(link: Link, pipe: Pipe, chunk: Buffer): void {
    if (link.frozen) return;
    // Never earlier than the chunk before it: a shorter latency must not reorder bytes.
    pipe.lastDue = Math.max(pipe.lastDue, performance.now() + delayMs);
    pipe.queue.push({ chunk, due: pipe.lastDue });
    pipe.held += chunk.length;
    pump(pipe);
  }

  function resetLink(link: Link): void {
    links.delete(link);
    for (const pipe of link.pipes) if (pipe.timer !== null) clearTimeout(pipe.timer);
    link.client.resetAndDestroy();
    link.upstream.resetAndDestroy();
  }

  const server: Server = createServer((client) => {
    accepted += 1;
    if (resetting) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const link: Link = { client, upstream, sent: '', frozen: false, pipes: [pipeOf('up', client, upstream), pipeOf('down', upstream, client)] };
    const [up, down] = link.pipes;
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (link.sent.length < 4096) link.sent += chunk.toString('latin1');
      receive(link, up, chunk);
    });
    upstream.on('data', (chunk: Buffer) => receive(link, down, chunk));
    const end = (): void => {
      links.delete(link);
      for (const pipe of link.pipes) if (pipe.timer !== null) clearTimeout(pipe.timer);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    freeze(marker) {
      let count = 0;
      for (const link of links) {
        if (!link.sent.includes(marker)) continue;
        link.frozen = true;
        count += 1;
      }
      return count;
    },
    latency(ms) {
      delayMs = Math.max(0, ms);
    },
    blackhole() {
      stopped.up = true;
      stopped.down = true;
      pumpAll();
    },
    halfOpen(direction) {
      stopped[direction] = true;
      pumpAll();
    },
    throttle(bytesPerSecond) {
      bandwidth = bytesPerSecond === null ? null : { up: new Bandwidth(bytesPerSecond), down: new Bandwidth(bytesPerSecond) };
      pumpAll();
    },
    reset(options = {}) {
      resetting = options.untilHealed === true;
      const open = [...links];
      for (const link of open) resetLink(link);
      return open.length;
    },
    heal() {
      delayMs = 0;
      stopped.up = false;
      stopped.down = false;
      bandwidth = null;
      resetting = false;
      // Held chunks keep their (past) due times: they pass at once, in order.
      pumpAll();
    },
    stats() {
      const held: Record<Direction, number> = { up: 0, down: 0 };
      for (const link of links) for (const pipe of link.pipes) held[pipe.direction] += pipe.held;
      return { links: links.size, accepted, passed: { ...passed }, held };
    },
    async close() {
      for (const link of links) {
        for (const pipe of link.pipes) if (pipe.timer !== null) clearTimeout(pipe.timer);
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
