/**
 * The pod's live room page subscriptions: admission (per address and per pod), their sockets
 * (the pod's SocketRegistry for pages: pings, the sweep of their unsent data), one encoding of each event and snapshot for every viewer, and
 * each watched room's status (its clients across the cluster and its log's tail), read from
 * the engine every few seconds and soon after a change, once per room whatever the number of
 * viewers.
 */
import type { Socket } from 'node:net';
import { CloseCode, readStoredValue, typedVariables } from '@cloudvars/protocol';
import type { RoomEngine, RoomSnapshot } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { logAsText } from '../api/log-text.ts';
import type { UnsentDataHolders } from '../pod-send-budget.ts';
import type { Config } from '../config.ts';
import type { EventText } from '../hub/event-text.ts';
import type { LocalRoom, RoomHub } from '../hub/room-hub.ts';
import { CLOSE_GRACE_MS, closeSocket } from '../sockets/close-socket.ts';
import { AddressCounts } from '../sockets/address-counts.ts';
import { clientSocketErrorListener, releaseUpgrade } from '../sockets/socket-errors.ts';
import { SocketRegistry } from '../sockets/socket-registry.ts';
import { LiveClose, LiveViewer, type ViewerHost } from './viewer.ts';
import type { Counter, Gauge } from 'prom-client';

/** Every room's status is read again this often while it has viewers (clients come and go without events). */
const STATUS_INTERVAL_MS = 2_000;
/** After a change, the status (the log's tail) is read this soon, unless a read is due sooner. */
const STATUS_AFTER_CHANGE_MS = 200;
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
  /** cloudvars_client_errors_total: a page's socket errors are the client's, as a client's are. */
  readonly clientErrors: Counter<'code'>;
  readonly instanceId: string;
}

/** Why a subscription is refused before its upgrade: the HTTP answer. */
export interface ViewerRefusal {
  readonly status: 429 | 503;
  readonly error: string;
  readonly message: string;
}

export class LiveViewers implements ViewerHost, UnsentDataHolders {
  /** The open pages: their pings and the sweep of their unsent data are the registry's, as the clients' are. */
  private readonly viewers: SocketRegistry<LiveViewer>;
  /**
   * Seats: subscriptions admitted, from their admission (before the upgrade) until their TCP
   * socket closes. MAX_LIVE_VIEWERS and LIVE_VIEWERS_PER_ADDRESS count these, not open
   * viewers: counting only once a socket was open let every upgrade admitted meanwhile through.
   */
  private readonly seats = new AddressCounts();
  private readonly watched = new Map<string, WatchedRoom>();
  private readonly eventTexts = new WeakMap<EventText, string | null>();
  private readonly snapshotTexts = new WeakMap<RoomSnapshot, string>();
  /** The latest room sent whole from a mirror, so the pages catching up at one seq share its text. */
  private readonly mirrorSnapshots = new WeakMap<LocalRoom, RoomSnapshot>();
  private readonly onSocketError: (this: WebSocket, error: Error) => void;
  private nextId = 0;
  private stopped = false;

  constructor(private readonly options: LiveViewersOptions) {
    this.onSocketError = clientSocketErrorListener(options.clientErrors, options.log);
    this.viewers = new SocketRegistry(options.config.pingIntervalMs);
  }

  get sendBufferLimitBytes(): number {
    return this.options.config.sendBufferLimitBytes;
  }

  get slowReaderTimeoutMs(): number {
    return this.options.config.slowConsumerTimeoutMs;
  }

  /** Every page's unsent data (PodSendBudget adds them up with the clients'). */
  get unsentDataHolders(): Iterable<LiveViewer> {
    return this.viewers;
  }

  /**
   * Admission of an upgrade request from `address` (as limits count it: addressForLimits),
   * before its upgrade: takes a seat at once (the check and the count in one step, so
   * requests admitted together cannot pass one limit together), or says why not. The seat
   * is given back when `tcp`, the request's socket, closes, whatever became of the request:
   * no upgrade, an upgrade ws refused, a subprotocol refused, the subscription's end. Call it
   * only for a request really being upgraded (its socket is given to the WebSocket or ended).
   */
  admit(address: string, tcp: Socket): ViewerRefusal | null {
    const { config } = this.options;
    if (this.stopped) return { status: 503, error: 'draining', message: 'this server is shutting down' };
    if (this.seats.total >= config.maxLiveViewers) return { status: 503, error: 'too-many-viewers', message: 'this server has MAX_LIVE_VIEWERS live subscriptions' };
    if (this.seats.of(address) >= config.liveViewersPerAddress) {
      return { status: 429, error: 'too-many-viewers-from-address', message: 'this address has LIVE_VIEWERS_PER_ADDRESS live subscriptions' };
    }
    // A socket already gone would never emit the 'close' that gives the seat back.
    if (tcp.destroyed) return { status: 503, error: 'connection-closed', message: 'the connection closed before its upgrade' };
    this.seats.add(address);
    this.options.gauge.set(this.seats.total);
    tcp.once('close', () => this.giveBack(address));
    return null;
  }

  /**
   * A page's socket was just upgraded (`tcp` under it): its errors (invalid UTF-8, a frame
   * too big, a reset) are the page's, counted and logged at debug as a client's are, instead
   * of @fastify/websocket's error-level "websocket handler failed" that any visitor could raise.
   */
  upgraded(socket: WebSocket, tcp: unknown): void {
    releaseUpgrade(socket, tcp, this.onSocketError);
  }

  /** A page's socket for `room` just opened (its seat was taken by `admit`): subscribe it (the room on this pod if needed), then send the room. */
  async open(socket: WebSocket, room: string, address: string): Promise<void> {
    const { hub, engine, log } = this.options;
    // Admitted before the drain began, upgraded after closeAll() went through the viewers.
    if (this.stopped) {
      closeSocket(socket, CloseCode.ServiceRestart, 'draining', CLOSE_GRACE_MS);
      return;
    }
    const id = `live:${this.options.instanceId}:${(this.nextId++).toString(36)}`;
    const viewer = hub.enter(room, (local) => new LiveViewer(id, socket, local, address, this));
    this.viewers.add(viewer);
    this.watch(viewer);
    socket.on('close', () => this.forget(viewer));
    socket.on('pong', (data) => viewer.pong(data));
    // Read-only: a page has nothing to say, and a set is not a viewer's to make.
    socket.on('message', () => viewer.close(LiveClose.ReadOnly, 'read-only'));
    let snapshot: RoomSnapshot | null;
    try {
      await viewer.room.subscribed;
      snapshot = await engine.store.snapshot(room);
    } catch (error) {
      log.error({ err: error, room }, 'live: could not read the room');
      viewer.close(CloseCode.InternalError, 'store-failed');
      return;
    }
    if (!viewer.isOpen) return;
    if (snapshot === null) {
      viewer.close(LiveClose.NoSuchRoom, 'no-such-room');
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

  mirrorSnapshot(room: LocalRoom): RoomSnapshot | null {
    if (room.buffer !== null || room.epoch === null) return null;
    const cached = this.mirrorSnapshots.get(room);
    if (cached !== undefined && cached.epoch === room.epoch && cached.seq === room.seq) return cached;
    const snapshot: RoomSnapshot = { epoch: room.epoch, seq: room.seq, variables: [...room.values] };
    this.mirrorSnapshots.set(room, snapshot);
    return snapshot;
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
  closeAll(code: number = CloseCode.ServiceRestart, reason = 'draining'): void {
    this.stopped = true;
    for (const viewer of [...this.viewers]) viewer.close(code, reason);
  }

  stop(): void {
    this.closeAll();
    this.viewers.stop();
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

  private giveBack(address: string): void {
    this.seats.remove(address);
    this.options.gauge.set(this.seats.total);
  }

  private forget(viewer: LiveViewer): void {
    if (!this.viewers.delete(viewer)) return;
    this.options.hub.release(viewer.room, viewer);
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
        if (viewer.send(text)) viewer.statusSent = text;
      }
    } catch (error) {
      this.options.log.error({ err: error, room }, 'live: reading the room\'s status failed');
    } finally {
      watched.reading = false;
    }
    if (this.watched.get(room) === watched) this.schedule(room, STATUS_INTERVAL_MS);
  }
}
