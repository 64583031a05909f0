/**
 * One live room page's subscription: a member of the pod's room hub (so it gets the room's
 * events in store order, from whichever pod made them) that is not a member of the room in
 * the store: it holds no lease, counts toward no room size, and cannot change anything.
 *
 * Like a client's view (ws/member-view.ts), its join is gap-free (hub/join-gate.ts): a resync
 * sends the room whole again (one that lands while its snapshot is being read is sent
 * instead of that snapshot when it is newer). Like a client's session, it is closed with a
 * grace period (then ended), only a pong echoing its last ping keeps it, and a page whose
 * unsent data stays large is closed (1008).
 *
 * A page on a slow link honours its socket's backpressure: while it has more than
 * SEND_BUFFER_LIMIT_BYTES unsent (a big room's snapshot takes a while), what happens in the
 * room is not written behind it but dropped, and once it has read its backlog it is sent
 * the room whole again, from the pod's mirror (which already holds every event it missed).
 * So a page that falls behind holds nothing but its unsent bytes, and still gets the room.
 */
import { CloseCode } from '@cloudvars/protocol';
import type { RoomSnapshot } from '@cloudvars/rooms';
import { WebSocket } from 'ws';
import { CLOSE_GRACE_MS, closeSocket } from '../sockets/close-socket.ts';
import type { EventText } from '../hub/event-text.ts';
import { JoinGate } from '../hub/join-gate.ts';
import type { LocalRoom, Resync } from '../hub/room-hub.ts';
import { answersPing, pingRound, type RegisteredSocket } from '../sockets/socket-registry.ts';
import type { PageTexts } from './page-texts.ts';
import type { RoomStatus, StatusReader } from './room-status.ts';

/** What every page of the pod shares (built once by LiveViewers): pod services, none of which calls back into a page's owner. */
export interface ViewerServices {
  /** What pages are sent, encoded once per pod. */
  readonly texts: PageTexts;
  /** The rooms' status reads: told when something changed. */
  readonly status: RoomStatus;
  /** A page's unsent data beyond this is too much (SEND_BUFFER_LIMIT_BYTES)... */
  readonly sendBufferLimitBytes: number;
  /** ...and it is closed once it stayed beyond it this long (SLOW_CONSUMER_TIMEOUT_MS). */
  readonly slowReaderTimeoutMs: number;
}

export class LiveViewer extends JoinGate implements RegisteredSocket, StatusReader {
  /** The last status text sent, so an unchanged status is not sent again. */
  statusSent: string | null = null;
  /** The payload of our last ping while its pong has not come back (sockets/socket-registry.ts: the ping round's rule). */
  private pongDue: Buffer | null = null;
  /** Since when (Date.now()) its unsent data is over the limit; 0: it is not. */
  private overLimitSince = 0;
  /**
   * The page was not sent something because its unsent data was over the limit: its view is
   * behind the room until it is sent the room whole again (catchUp).
   */
  private behind = false;

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    readonly room: LocalRoom,
    readonly address: string,
    private readonly services: ViewerServices,
  ) {
    super();
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** The room's state when the subscription began: send it, then what arrived meanwhile. */
  start(snapshot: RoomSnapshot): void {
    const { events, newerResync } = this.open(snapshot);
    // A resync that landed during the read and is newer: the page gets that one.
    this.showSnapshot(newerResync?.snapshot ?? snapshot);
    this.replay(events);
  }

  protected show(text: EventText): void {
    if (text.event.type === 'room-deleted') {
      this.close(CloseCode.RoomDeleted, 'room-deleted');
      return;
    }
    this.services.status.changed(this.room.name);
    // Behind: the mirror already holds this event, so the room sent whole covers it.
    if (this.behind) {
      this.catchUp();
      return;
    }
    const json = this.services.texts.eventText(text);
    if (json !== null) this.send(json);
  }

  protected showResync(resync: Resync): void {
    this.showSnapshot(resync.snapshot);
    this.services.status.changed(this.room.name);
  }

  /** The page's view starts again from `snapshot` (unless it is behind: then once it has read its backlog). */
  private showSnapshot(snapshot: RoomSnapshot): void {
    this.moveTo(snapshot.epoch, snapshot.seq);
    if (this.write(this.services.texts.snapshotText(this.room.name, snapshot))) this.behind = false;
  }

  /**
   * A page that fell behind and has read its backlog is sent the room whole, as the mirror
   * holds it now; it follows the events after that. Nothing while its unsent data is still
   * over the limit, or while the mirror is being re-read (its resync brings the room).
   */
  private catchUp(): void {
    if (!this.isOpen || this.socket.bufferedAmount > this.services.sendBufferLimitBytes) return;
    const mirror = this.services.texts.mirrorSnapshot(this.room);
    if (mirror === null) return;
    this.showSnapshot(mirror);
    this.services.status.changed(this.room.name); // and its status soon
  }

  evict(code: number, reason: string): void {
    this.close(code, reason);
  }

  /**
   * Sends `text` and says whether it did. A page with more than SEND_BUFFER_LIMIT_BYTES
   * unsent is not sent it: it is behind from then on (nothing piles up behind a page on a
   * slow link), and is sent the room whole once it has read its backlog. A page that stays
   * over the limit is closed by the sweep (checkBacklog), as a client is.
   */
  send(text: string): boolean {
    return !this.behind && this.write(text);
  }

  /** Writes `text` unless the page has too much unsent already (then it is behind). */
  private write(text: string): boolean {
    if (!this.isOpen) return false;
    if (this.socket.bufferedAmount > this.services.sendBufferLimitBytes) {
      this.behind = true;
      this.statusSent = null; // the next status goes out, whether or not it changed
      return false;
    }
    this.socket.send(text);
    return true;
  }

  /**
   * The pod's sweep, every second whether or not anything is sent: a page that fell behind
   * and has read its backlog is sent the room (a quiet room sends it nothing else); one whose
   * unsent data stayed over SEND_BUFFER_LIMIT_BYTES for SLOW_CONSUMER_TIMEOUT_MS is closed (1008).
   */
  checkBacklog(now: number): void {
    if (!this.isOpen) return;
    if (this.socket.bufferedAmount <= this.services.sendBufferLimitBytes) {
      this.overLimitSince = 0;
      if (this.behind) this.catchUp();
      return;
    }
    if (this.overLimitSince === 0) this.overLimitSince = now;
    else if (now - this.overLimitSince >= this.services.slowReaderTimeoutMs) this.close(CloseCode.SlowConsumer, 'slow-reader');
  }

  /** Bytes written to the page that it has not read yet (PodSendBudget counts them with the clients'). */
  get unsentBytes(): number {
    return this.socket.bufferedAmount;
  }

  /** The pod's unsent data is over SEND_BUFFER_POD_LIMIT_BYTES and this page holds among the most. */
  dropForPodLimit(): void {
    if (this.isOpen) this.close(CloseCode.SlowConsumer, 'pod-send-buffer-full');
  }

  /** Ping round (`payload` is the round's, shared by every viewer): drop a page that did not answer the previous ping. */
  ping(payload: Buffer): void {
    if (!this.isOpen) return;
    // A page is never paused by us: no round excuses it.
    const due = pingRound(this.socket, this.pongDue, payload, false);
    if (due === 'missed') {
      this.socket.terminate();
      return;
    }
    this.pongDue = due;
  }

  /** A pong: it counts only when it carries our last ping's payload (answersPing). */
  pong(data: Buffer): void {
    if (answersPing(this.pongDue, data)) this.pongDue = null;
  }

  close(code: number, reason: string): void {
    closeSocket(this.socket, code, reason, CLOSE_GRACE_MS);
  }
}

/**
 * The two close codes that are the live page's own (README, "The live room page"); a page
 * that ends for a client's reason closes with the client's code from the protocol's table
 * (CloseCode: RoomDeleted, SlowConsumer, InternalError, ServiceRestart).
 */
export const LiveClose = {
  /** The room does not exist: the page says so and tries again later. */
  NoSuchRoom: 4404,
  /** The page sent something: a live subscription is read-only (standard "unsupported data"). */
  ReadOnly: 1003,
} as const;
