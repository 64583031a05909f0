/**
 * The open sockets of one kind on this pod (clients' sessions, live room pages), and what
 * every socket of a pod gets alike: a count per client address (the per-address socket
 * limit's), the ping round (a client that did not answer the previous ping is dropped), and
 * the sweep of unsent data every second (a slow consumer is dropped even when nothing more
 * is sent to it). PodSendBudget reads every kind's sockets through `unsentDataHolders`.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { UnsentDataHolder, UnsentDataHolders } from '../pod-send-budget.ts';
import { AddressCounts } from './address-counts.ts';

/** One socket the registry keeps. */
export interface RegisteredSocket extends UnsentDataHolder {
  /** The address as limits count it (addressForLimits). */
  readonly address: string;
  /** The ping round: `payload` is the round's, shared by every socket (random per round, so only a reader can echo it). */
  ping(payload: Buffer): void;
  /** The sweep: closes the socket once its unsent data stayed over the limit for the grace period. */
  checkBacklog(now: number): void;
}

/**
 * The ping round's rule, the same for every socket of the pod (clients, live pages), which
 * keep what they owe in a field of their own: `pingRound` pings an open socket with the round's
 * payload and returns what it owes now, or 'missed' when it still owes the previous round's
 * pong (drop it), unless `excused` (we stopped reading it meanwhile, so its pong may wait
 * unread: it owes the same, and is not pinged again).
 */
export function pingRound(socket: WebSocket, due: Buffer | null, payload: Buffer, excused: boolean): Buffer | 'missed' {
  if (due !== null) return excused ? due : 'missed';
  socket.ping(payload);
  return payload;
}

/**
 * Whether a pong carrying `data` answers the ping whose payload is `due` (null: none is due).
 * Only one that echoes it counts: a socket that stopped reading cannot see the payload, so
 * unsolicited pongs keep nothing alive.
 */
export function answersPing(due: Buffer | null, data: Buffer): boolean {
  return due !== null && data.equals(due);
}

/** Something swept with the sockets, before them (the store pressure's release: store-pressure.ts). */
export interface Sweepable {
  sweep(): void;
}

/** What a limit on open sockets reads (admission). */
export interface SocketCounts {
  readonly size: number;
  /** Open sockets from `address`. */
  countOf(address: string): number;
}

/** How often every socket's unsent data is looked at (slow consumers, the pod's budget). */
const BACKLOG_SWEEP_MS = 1_000;
/** Bytes of a ping's payload: random per round, so only a socket that read the ping can answer it. */
const PING_PAYLOAD_BYTES = 8;

export class SocketRegistry<S extends RegisteredSocket> implements SocketCounts, UnsentDataHolders, Iterable<S> {
  private readonly sockets = new Set<S>();
  /**
   * Open sockets per client address. For clients, the store's limit counts joined clients
   * across the cluster; this one stops a single address from filling the pod with sockets
   * that never send a handshake (this pod's share can never exceed the cluster's limit).
   */
  private readonly perAddress = new AddressCounts();
  private readonly pingTimer: NodeJS.Timeout;
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(pingIntervalMs: number, sweptBefore: Sweepable | null = null) {
    this.pingTimer = setInterval(() => this.pingAll(), pingIntervalMs);
    this.pingTimer.unref();
    this.sweepTimer = setInterval(() => {
      sweptBefore?.sweep();
      this.sweepBacklogs();
    }, BACKLOG_SWEEP_MS);
    this.sweepTimer.unref();
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Open sockets from `address`. */
  countOf(address: string): number {
    return this.perAddress.of(address);
  }

  add(socket: S): void {
    this.sockets.add(socket);
    this.perAddress.add(socket.address);
  }

  /** False when `socket` was not here (a second close). */
  delete(socket: S): boolean {
    if (!this.sockets.delete(socket)) return false;
    this.perAddress.remove(socket.address);
    return true;
  }

  [Symbol.iterator](): Iterator<S> {
    return this.sockets[Symbol.iterator]();
  }

  /** PodSendBudget adds every kind's unsent data up. */
  get unsentDataHolders(): Iterable<S> {
    return this.sockets;
  }

  stop(): void {
    clearInterval(this.pingTimer);
    clearInterval(this.sweepTimer);
  }

  private pingAll(): void {
    if (this.sockets.size === 0) return;
    const payload = randomBytes(PING_PAYLOAD_BYTES);
    for (const socket of this.sockets) socket.ping(payload);
  }

  private sweepBacklogs(): void {
    const now = Date.now();
    for (const socket of this.sockets) socket.checkBacklog(now);
  }
}
