/**
 * One live room page's subscription: a member of the pod's room hub (so it gets the room's
 * events in store order, from whichever pod made them) that is not a member of the room in
 * the store: it holds no lease, counts toward no room size, and cannot change anything.
 *
 * Like a client's membership (ws/membership.ts), it holds the events the hub delivers until
 * its snapshot is known, then shows only those after the snapshot's seq; a resync sends the
 * room whole again.
 */
import type { RoomSnapshot } from '@cloudvars/rooms';
import { WebSocket } from 'ws';
import type { EventText } from '../ws/event-text.ts';
import type { LocalRoom, Resync, RoomMember } from '../ws/room-hub.ts';

/** What a viewer needs from the pod's registry of viewers. */
export interface ViewerHost {
  /** The JSON text of an event for pages, made once per event for every viewer of the pod. */
  eventText(text: EventText): string | null;
  /** The JSON text of a room's variables for pages, made once per snapshot. */
  snapshotText(room: string, snapshot: RoomSnapshot): string;
  /** Something changed: the room's log tail is worth reading again soon. */
  changed(room: string): void;
  /** Closes a viewer whose page does not read what it is sent (its unsent data stays large). */
  readonly sendBufferLimitBytes: number;
}

export class LiveViewer implements RoomMember {
  private early: EventText[] | null = [];
  private epoch = '';
  private floor = 0;
  /** The last status text sent, so an unchanged status is not sent again. */
  statusSent: string | null = null;
  /** Set by each ping, cleared by each pong: a page that misses one ping is dropped. */
  awaitingPong = false;

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    readonly room: LocalRoom,
    readonly address: string,
    private readonly host: ViewerHost,
  ) {}

  get isJoined(): boolean {
    return this.early === null;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** The room's state when the subscription began: send it, then what arrived meanwhile. */
  start(snapshot: RoomSnapshot): void {
    const early = this.early ?? [];
    this.early = null;
    this.epoch = snapshot.epoch;
    this.floor = snapshot.seq;
    this.send(this.host.snapshotText(this.room.name, snapshot));
    for (const text of early) this.deliver(text);
  }

  deliver(text: EventText): void {
    if (this.early !== null) {
      this.early.push(text);
      return;
    }
    const event = text.event;
    if (event.epoch !== this.epoch || event.seq <= this.floor) return;
    if (event.type === 'room-deleted') {
      this.close(LIVE_CLOSE.roomDeleted, 'room-deleted');
      return;
    }
    const json = this.host.eventText(text);
    if (json !== null) this.send(json);
    this.host.changed(this.room.name);
  }

  resynced(resync: Resync): void {
    if (this.early !== null) return; // its snapshot comes after this one's read, or is the same
    this.epoch = resync.snapshot.epoch;
    this.floor = resync.snapshot.seq;
    this.send(this.host.snapshotText(this.room.name, resync.snapshot));
    this.host.changed(this.room.name);
  }

  evict(code: number, reason: string): void {
    this.close(code, reason);
  }

  send(text: string): void {
    if (!this.isOpen) return;
    if (this.socket.bufferedAmount > this.host.sendBufferLimitBytes) {
      this.close(LIVE_CLOSE.slowReader, 'slow-reader');
      return;
    }
    this.socket.send(text);
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(code, reason);
  }
}

/** How a live subscription ends, for the page (README, "The live room page"). */
export const LIVE_CLOSE = {
  /** The room does not exist: the page says so and tries again later. */
  missing: 4404,
  /** An operator deleted the room (as for clients). */
  roomDeleted: 4010,
  /** The page sent something: a live subscription is read-only. */
  readOnly: 1003,
  /** The page did not read what it was sent. */
  slowReader: 1008,
  /** The pod could not read the room (the store failed). */
  storeFailed: 1011,
  /** The pod is draining. */
  draining: 1012,
} as const;
