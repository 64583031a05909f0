/**
 * The pod's live room page subscriptions: admission (seats per address and per pod), opening
 * each page's subscription (a member of the pod's room hub), and closing them all at the
 * drain. Their sockets are the pod's SocketRegistry for pages (pings, the sweep of their
 * unsent data, as the clients'); what they are sent is encoded once (page-texts.ts); each
 * watched room's status is read once per room (room-status.ts).
 */
import type { Socket } from 'node:net';
import { CloseCode } from '@cloudvars/protocol';
import type { RoomEngine, RoomSnapshot } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { UnsentDataHolders } from '../pod-send-budget.ts';
import type { Config } from '../config.ts';
import type { RoomHub } from '../hub/room-hub.ts';
import { CLOSE_GRACE_MS, closeSocket } from '../sockets/close-socket.ts';
import { AddressCounts } from '../sockets/address-counts.ts';
import { clientSocketErrorListener, releaseUpgrade } from '../sockets/socket-errors.ts';
import { SocketRegistry } from '../sockets/socket-registry.ts';
import { PageTexts } from './page-texts.ts';
import { RoomStatus } from './room-status.ts';
import { LiveClose, LiveViewer, type ViewerServices } from './viewer.ts';
import type { Counter, Gauge } from 'prom-client';

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

export class LiveViewers implements UnsentDataHolders {
  /** The open pages: their pings and the sweep of their unsent data are the registry's, as the clients' are. */
  private readonly viewers: SocketRegistry<LiveViewer>;
  /**
   * Seats: subscriptions admitted, from their admission (before the upgrade) until their TCP
   * socket closes. MAX_LIVE_VIEWERS and LIVE_VIEWERS_PER_ADDRESS count these, not open
   * viewers: counting only once a socket was open let every upgrade admitted meanwhile through.
   */
  private readonly seats = new AddressCounts();
  private readonly status: RoomStatus;
  /** What every page of the pod shares: one object, not a copy each. */
  private readonly services: ViewerServices;
  private readonly onSocketError: (this: WebSocket, error: Error) => void;
  private nextId = 0;
  private stopped = false;

  constructor(private readonly options: LiveViewersOptions) {
    this.onSocketError = clientSocketErrorListener(options.clientErrors, options.log);
    this.viewers = new SocketRegistry(options.config.pingIntervalMs);
    this.status = new RoomStatus(options.engine, options.log);
    this.services = {
      texts: new PageTexts(),
      status: this.status,
      sendBufferLimitBytes: options.config.sendBufferLimitBytes,
      slowReaderTimeoutMs: options.config.slowConsumerTimeoutMs,
    };
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
    if (this.seats.total >= config.maxLiveViewers)
      return { status: 503, error: 'too-many-viewers', message: 'this server has MAX_LIVE_VIEWERS live subscriptions' };
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
    const viewer = hub.enter(room, (local) => new LiveViewer(id, socket, local, address, this.services));
    this.viewers.add(viewer);
    this.status.watch(viewer);
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
    this.status.started(room);
  }

  /** Drain or close: every page is told (it reconnects, to another pod) and nothing new is let in. */
  closeAll(code: number = CloseCode.ServiceRestart, reason = 'draining'): void {
    this.stopped = true;
    this.status.close();
    for (const viewer of [...this.viewers]) viewer.close(code, reason);
  }

  stop(): void {
    this.closeAll();
    this.viewers.stop();
    this.status.stop();
  }

  private giveBack(address: string): void {
    this.seats.remove(address);
    this.options.gauge.set(this.seats.total);
  }

  private forget(viewer: LiveViewer): void {
    if (!this.viewers.delete(viewer)) return;
    this.options.hub.release(viewer.room, viewer);
    this.status.unwatch(viewer);
  }
}
