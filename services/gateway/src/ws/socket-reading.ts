/**
 * When one client's socket is read: the base of Session (one object per client, not two).
 * Reading stops for a reason and starts again when no reason is left; the frame limit is
 * charged here; the ping round's answer is checked here, knowing that a socket we stopped
 * reading cannot answer.
 *
 * Why the socket is not read, one bit each. Each resumes on its own schedule (the join ends,
 * the flood debt is paid, the store catches up); the socket is read again only when none is
 * left, so one resuming never undoes another.
 */
import type { Counter } from 'prom-client';
import type { ClientSocket } from './client-socket.ts';
import type { Pausable } from './store-pressure.ts';
import type { TokenBucket } from './token-bucket.ts';

const PAUSED_FOR_JOIN = 1;
const PAUSED_FOR_FLOOD = 2;
const PAUSED_FOR_STORE = 4;

export abstract class SocketReading implements Pausable {
  /** PAUSED_FOR_* bits: why the socket is not read now (0: it is read). */
  private pausedFor = 0;
  /** Reading was paused at some time since the last ping round: its pong may wait unread. */
  private pausedSincePing = false;
  /** Resumes reading once the flood debt is paid; null while not paced. */
  private floodTimer: NodeJS.Timeout | null = null;
  /**
   * The payload of our last ping while its pong has not come back. Only a pong carrying it
   * counts: a client that stopped reading cannot see the payload, so unsolicited pongs keep
   * nothing alive. A client that misses one ping round is dropped.
   */
  private pongDue: Buffer | null = null;
  /**
   * Made at the handshake, by the dialect: 2020 clients, the frame rate, closed beyond it
   * (4004); today's clients, FLOOD_BURST frames at once, then paced to FLOOD_LIMIT_PER_SECOND
   * (never closed). Null before: the handshake frame passes whatever it costs (a full bucket
   * takes any frame).
   */
  protected bucket: TokenBucket | null = null;

  protected constructor(protected readonly client: ClientSocket) {}

  /** The flood timer, one function for every client. */
  private static onFloodPaid(reading: SocketReading): void {
    reading.floodTimer = null;
    if (reading.bucket === null) return;
    // Frames read after the pause (the rest of a TCP read) added to the debt.
    const waitMs = reading.bucket.charge(0);
    if (waitMs > 0) reading.floodTimer = setTimeout(SocketReading.onFloodPaid, waitMs, reading);
    else reading.resumeFrom(PAUSED_FOR_FLOOD);
  }

  /** Pausable: the store lags (store-pressure.ts); TCP pushes back on the client meanwhile. */
  pauseReading(): void {
    this.pauseFor(PAUSED_FOR_STORE);
  }

  /** Pausable. */
  resumeReading(): void {
    this.resumeFrom(PAUSED_FOR_STORE);
  }

  /** Read nothing more until the client is in the room (TCP pushes back on a flood). */
  protected pauseForJoin(): void {
    this.pauseFor(PAUSED_FOR_JOIN);
  }

  protected resumeAfterJoin(): void {
    this.resumeFrom(PAUSED_FOR_JOIN);
  }

  /**
   * Flood pacing of today's clients, which stop for good on some codes and are not slowed
   * by any: the frame was read and counts; once the burst is spent, the socket is not read
   * until the debt is paid at FLOOD_LIMIT_PER_SECOND. TCP pushes back on this client alone,
   * and what it sends later is read later, not lost (its sets per variable are coalesced
   * while they wait for the set rate). `floodPauses` counts each pause.
   */
  protected pace(cost: number, floodPauses: Counter): void {
    if (this.bucket === null) return;
    const waitMs = this.bucket.charge(cost);
    if (waitMs === 0 || this.floodTimer !== null) return;
    floodPauses.inc();
    this.pauseFor(PAUSED_FOR_FLOOD);
    this.floodTimer = setTimeout(SocketReading.onFloodPaid, waitMs, this);
  }

  /** The connection closed: no timer of its reading is left. */
  protected stopReading(): void {
    if (this.floodTimer !== null) clearTimeout(this.floodTimer);
    this.floodTimer = null;
  }

  /** A pong: it counts only when it carries our last ping's payload. */
  protected ponged(data: Buffer): void {
    if (this.pongDue !== null && data.equals(this.pongDue)) this.pongDue = null;
  }

  /** Ping round (`payload` is the round's, shared by every session): drop a client that did not answer the previous ping. */
  ping(payload: Buffer): void {
    const { client } = this;
    if (!client.isOpen) return;
    const pausedByUs = this.pausedFor !== 0 || this.pausedSincePing;
    this.pausedSincePing = this.pausedFor !== 0;
    if (this.pongDue !== null) {
      // Not read for a while by our choice (join, flood, store): its pong may wait unread.
      if (pausedByUs) return;
      client.log('info', { room: client.room }, 'no pong to the previous ping: dropping');
      client.socket.terminate();
      return;
    }
    this.pongDue = payload;
    client.socket.ping(payload);
  }

  private pauseFor(reason: number): void {
    if (this.pausedFor === 0) this.client.socket.pause();
    this.pausedFor |= reason;
    this.pausedSincePing = true;
  }

  private resumeFrom(reason: number): void {
    if ((this.pausedFor & reason) === 0) return;
    this.pausedFor &= ~reason;
    // Closing too: the client's close frame waits behind what was not read (ws ignores a closed socket).
    if (this.pausedFor === 0) this.client.socket.resume();
  }
}
