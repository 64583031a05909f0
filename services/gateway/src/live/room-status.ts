/**
 * Each watched room's status for its live pages: its clients across the cluster and its
 * log's tail, read from the engine every few seconds and soon after a change, once per room
 * whatever the number of pages, and sent to each page whose last status differs.
 */
import type { RoomEngine } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import { logAsText } from '../api/log-text.ts';

/** Every room's status is read again this often while it has viewers (clients come and go without events). */
const STATUS_INTERVAL_MS = 2_000;
/** After a change, the status (the log's tail) is read this soon, unless a read is due sooner. */
const STATUS_AFTER_CHANGE_MS = 200;
/** Log entries a page shows. */
export const LIVE_LOG_TAIL = 20;

/** A page as the status reads it. */
export interface StatusReader {
  readonly room: { readonly name: string };
  /** False until its snapshot went out: a status before it would show a room it has not got. */
  readonly isJoined: boolean;
  /** The last status text sent, so an unchanged status is not sent again. */
  statusSent: string | null;
  /** Sends `text`; false when it could not (the page is behind). */
  send(text: string): boolean;
}

interface WatchedRoom {
  readonly viewers: Set<StatusReader>;
  timer: NodeJS.Timeout | null;
  dueAt: number;
  reading: boolean;
}

export class RoomStatus {
  private readonly watched = new Map<string, WatchedRoom>();
  private closed = false;

  constructor(
    private readonly engine: RoomEngine,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** A page of the room opened: its room's status is read for it from now on. */
  watch(viewer: StatusReader): void {
    const room = viewer.room.name;
    let watched = this.watched.get(room);
    if (watched === undefined) {
      watched = { viewers: new Set(), timer: null, dueAt: Infinity, reading: false };
      this.watched.set(room, watched);
    }
    watched.viewers.add(viewer);
  }

  /** The page closed; a room no page watches is not read any more. */
  unwatch(viewer: StatusReader): void {
    const watched = this.watched.get(viewer.room.name);
    if (watched === undefined) return;
    watched.viewers.delete(viewer);
    if (watched.viewers.size === 0) {
      if (watched.timer !== null) clearTimeout(watched.timer);
      this.watched.delete(viewer.room.name);
    }
  }

  /** A page got its snapshot: its room's status goes out now. */
  started(room: string): void {
    this.schedule(room, 0);
  }

  /** Something changed: the room's log tail is worth reading again soon. */
  changed(room: string): void {
    this.schedule(room, STATUS_AFTER_CHANGE_MS);
  }

  /** The drain: no status is read from now on. */
  close(): void {
    this.closed = true;
  }

  stop(): void {
    this.close();
    for (const watched of this.watched.values()) if (watched.timer !== null) clearTimeout(watched.timer);
  }

  /** Reads the room's status in `delayMs`, unless a read is due sooner. */
  private schedule(room: string, delayMs: number): void {
    const watched = this.watched.get(room);
    if (watched === undefined || this.closed) return;
    const at = Date.now() + delayMs;
    if (watched.timer !== null && watched.dueAt <= at) return;
    if (watched.timer !== null) clearTimeout(watched.timer);
    watched.dueAt = at;
    watched.timer = setTimeout(() => void this.refresh(room, watched), delayMs);
    watched.timer.unref();
  }

  private async refresh(room: string, watched: WatchedRoom): Promise<void> {
    watched.timer = null;
    watched.dueAt = Infinity;
    if (watched.reading) {
      this.schedule(room, STATUS_AFTER_CHANGE_MS);
      return;
    }
    watched.reading = true;
    try {
      const { store } = this.engine;
      const [clients, log] = await Promise.all([store.memberCount(room), store.log(room, LIVE_LOG_TAIL)]);
      const text = JSON.stringify({ type: 'status', clients, log: logAsText(log ?? []) });
      for (const viewer of watched.viewers) {
        if (!viewer.isJoined || viewer.statusSent === text) continue;
        if (viewer.send(text)) viewer.statusSent = text;
      }
    } catch (error) {
      this.log.error({ err: error, room }, "live: reading the room's status failed");
    } finally {
      watched.reading = false;
    }
    if (this.watched.get(room) === watched) this.schedule(room, STATUS_INTERVAL_MS);
  }
}
