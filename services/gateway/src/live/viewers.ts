/**
 * The pod's live room page subscriptions: admission (per address and per pod), pings, the
 * sweep of their unsent data, one encoding of each event and snapshot for every viewer, and
 * each watched room's status (its clients across the cluster and its log's tail), read from
 * the engine every few seconds and soon after a change, once per room whatever the number of
 * viewers.
 */
import { randomBytes } from 'node:crypto';
import { readStoredValue, typedVariables } from '@cloudvars/protocol';
import type { RoomEngine, RoomSnapshot } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { logAsText } from '../api/log-text.ts';
import type { Config } from '../config.ts';
import type { EventText } from '../ws/event-text.ts';
import type { RoomHub } from '../ws/room-hub.ts';
import { LIVE_CLOSE, LiveViewer, type ViewerHost } from './viewer.ts';
import type { Gauge } from 'prom-client';

/** Every room's status is read again this often while it has viewers (clients come and go without events). */
const STATUS_INTERVAL_MS = 2_000;
/** After a change, the status (the log's tail) is read this soon, unless a read is due sooner. */
const STATUS_AFTER_CHANGE_MS = 200;
/** How often every page's unsent data is looked at (as every client's, ws/connections.ts). */
const BACKLOG_SWEEP_MS = 1_000;
/** Bytes of a ping's payload: random per round, so only a page that read the ping can answer it. */
const PING_PAYLOAD_BYTES = 8;
/** Log entries a page shows. */
export const LIVE_LOG_TAIL = 20;

interface WatchedRoom {
  readonly viewers: Set<LiveViewer>;
  timer: NodeJS.Timeout | null;
  dueAt: number;
  reading: boolean;
}

export interface LiveViewersOptions {
  readonly engine: RoomEngine;
  readonly hub: RoomHub;
  readonly config: Config;
  readonly log: FastifyBaseLogger;
  readonly gauge: Gauge;
  readonly instanceId: string;
}

export class LiveViewers implements ViewerHost {
  private readonly viewers = new Set<LiveViewer>();
  private readonly perAddress = new Map<string, number>();
  private readonly watched = new Map<string, WatchedRoom>();
  private readonly eventTexts = new WeakMap<EventText, string | null>();
  private readonly snapshotTexts = new WeakMap<RoomSnapshot, string>();
  private readonly pingTimer: NodeJS.Timeout;
  private readonly backlogTimer: NodeJS.Timeout;
  private nextId = 0;
  private stopped = false;

  constructor(private readonly options: LiveViewersOptions) {
    this.pingTimer = setInterval(() => this.pingAll(), options.config.pingIntervalMs);
    this.pingTimer.unref();
    this.backlogTimer = setInterval(() => this.sweepBacklogs(), BACKLOG_SWEEP_MS);
    this.backlogTimer.unref();
  }

  get sendBufferLimitBytes(): number {
    return this.options.config.sendBufferLimitBytes;
  }

  get slowReaderTimeoutMs(): number {
    return this.options.config.slowConsumerTimeoutMs;
  }

  get size(): number {
    return this.viewers.size;
  }

  /** Why a new subscription from `address` (as limits count it: addressForLimits) is refused before its upgrade (HTTP status), or null. */
  refusal(address: string): { readonly status: 429 | 503; readonly error: string; readonly message: string } | null {
    const { config } = this.options;
    if (this.stopped) return { status: 503, error: 'draining', message: 'this server is shutting down' };
    if (this.viewers.size >= config.maxLiveViewers) return { status: 503, error: 'too-many-viewers', message: 'this server has MAX_LIVE_VIEWERS live subscriptions' };
    if ((this.perAddress.get(address) ?? 0) >= config.liveViewersPerAddress) {
      return { status: 429, error: 'too-many-viewers-from-address', message: 'this address has LIVE_VIEWERS_PER_ADDRESS live subscriptions' };
    }
    return null;
  }

  /** A page's socket for `room` just opened: subscribe it (the room on this pod if needed), then send the room. */
  async open(socket: WebSocket, room: string, address: string): Promise<void> {
    const { hub, engine, log } = this.options;
    const id = `live:${this.options.instanceId}:${(this.nextId++).toString(36)}`;
    const viewer = hub.enter(room, (local) => new LiveViewer(id, socket, local, address, this));
    this.viewers.add(viewer);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    this.watch(viewer);
    this.options.gauge.set(this.viewers.size);
    socket.on('close', () => this.forget(viewer));
    socket.on('pong', (data) => viewer.pong(data));
    // Read-only: a page has nothing to say, and a set is not a viewer's to make.
    socket.on('message', () => viewer.close(LIVE_CLOSE.readOnly, 'read-only'));
    let snapshot: RoomSnapshot | null;
    try {
      await viewer.room.subscribed;
      snapshot = await engine.store.snapshot(room);
    } catch (error) {
      log.error({ err: error, room }, 'live: could not read the room');
      viewer.close(LIVE_CLOSE.storeFailed, 'store-failed');
      return;
    }
    if (!viewer.isOpen) return;
    if (snapshot === null) {
      viewer.close(LIVE_CLOSE.missing, 'no-such-room');
      return;
    }
    hub.joined(viewer.room, snapshot);
    viewer.start(snapshot);
    this.schedule(room, 0);
  }

  eventText(text: EventText): string | null {
    let json = this.eventTexts.get(text);
    if (json === undefined) {
      const event = text.event;
      switch (event.type) {
        case 'set':
          // Typed as a Scratch 3 client receives it: the page tells a number from a string.
          json = JSON.stringify({ type: 'set', name: event.variable, value: readStoredValue(event.value) });
          break;
        case 'rename':
          json = JSON.stringify({ type: 'rename', name: event.variable, newName: event.newName });
          break;
        case 'delete':
          json = JSON.stringify({ type: 'delete', name: event.variable });
          break;
        default:
          json = null; // kicks are no page's business; a deletion closes the page's socket
      }
      this.eventTexts.set(text, json);
    }
    return json;
  }

  snapshotText(room: string, snapshot: RoomSnapshot): string {
    let json = this.snapshotTexts.get(snapshot);
    if (json === undefined) {
      json = JSON.stringify({ type: 'snapshot', room, variables: typedVariables(snapshot.variables) });
      this.snapshotTexts.set(snapshot, json);
    }
    return json;
  }

  changed(room: string): void {
    this.schedule(room, STATUS_AFTER_CHANGE_MS);
  }

  /** Drain or close: every page is told (it reconnects, to another pod) and nothing new is let in. */
  closeAll(code: number = LIVE_CLOSE.draining, reason = 'draining'): void {
    this.stopped = true;
    for (const viewer of [...this.viewers]) viewer.close(code, reason);
  }

  stop(): void {
    this.closeAll();
    clearInterval(this.pingTimer);
    clearInterval(this.backlogTimer);
    for (const watched of this.watched.values()) if (watched.timer !== null) clearTimeout(watched.timer);
  }

  private watch(viewer: LiveViewer): void {
    const room = viewer.room.name;
    let watched = this.watched.get(room);
    if (watched === undefined) {
      watched = { viewers: new Set(), timer: null, dueAt: Infinity, reading: false };
      this.watched.set(room, watched);
    }
    watched.viewers.add(viewer);
  }

  private forget(viewer: LiveViewer): void {
    if (!this.viewers.delete(viewer)) return;
    this.options.hub.release(viewer.room, viewer);
    const left = (this.perAddress.get(viewer.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(viewer.address, left);
    else this.perAddress.delete(viewer.address);
    this.options.gauge.set(this.viewers.size);
    const watched = this.watched.get(viewer.room.name);
    if (watched === undefined) return;
    watched.viewers.delete(viewer);
    if (watched.viewers.size === 0) {
      if (watched.timer !== null) clearTimeout(watched.timer);
      this.watched.delete(viewer.room.name);
    }
  }

  /** Reads the room's status in `delayMs`, unless a read is due sooner. */
  private schedule(room: string, delayMs: number): void {
    const watched = this.watched.get(room);
    if (watched === undefined || this.stopped) return;
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
      const { store } = this.options.engine;
      const [clients, log] = await Promise.all([store.memberCount(room), store.log(room, LIVE_LOG_TAIL)]);
      const text = JSON.stringify({ type: 'status', clients, log: logAsText(log ?? []) });
      for (const viewer of watched.viewers) {
        if (!viewer.isJoined || viewer.statusSent === text) continue;
        viewer.statusSent = text;
        viewer.send(text);
      }
    } catch (error) {
      this.options.log.error({ err: error, room }, 'live: reading the room\'s status failed');
    } finally {
      watched.reading = false;
    }
    if (this.watched.get(room) === watched) this.schedule(room, STATUS_INTERVAL_MS);
  }

  private pingAll(): void {
    if (this.viewers.size === 0) return;
    const payload = randomBytes(PING_PAYLOAD_BYTES);
    for (const viewer of this.viewers) viewer.ping(payload);
  }

  /** A page that stopped reading is dropped even when its room is quiet (nothing more is sent to it). */
  private sweepBacklogs(): void {
    const now = Date.now();
    for (const viewer of this.viewers) viewer.checkBacklog(now);
  }
}
