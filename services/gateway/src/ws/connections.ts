/**
 * Every client connection of this pod: opening a session for each admitted socket, lease
 * renewal, and the drain that closes everyone with 1012. The sockets themselves (counts per
 * address, the ping round, the backlog sweep) are the pod's client SocketRegistry; who may
 * open one is Admission's. Stopping it stops what the sessions share: the flush scheduler
 * and the room hub.
 */
import { CloseCode } from '@cloudvars/protocol';
import type { Lease } from '@cloudvars/rooms';
import type { WebSocket } from 'ws';
import type { Visitor } from '../hook/handshake-hook.ts';
import { REFUSAL_GRACE_MS, closeSocket } from '../sockets/close-socket.ts';
import type { SocketRegistry } from '../sockets/socket-registry.ts';
import type { Admission } from './admission.ts';
import type { ClientServices } from './client-services.ts';
import { Session, type ClientRegistry, type SessionContext } from './session.ts';

/** Between two drain batches, so the other pods are not hit by every reconnect at once. */
const DRAIN_BATCH_PAUSE_MS = 20;
/** How often the drain looks whether every socket has closed. */
const DRAIN_POLL_MS = 20;
/** Renewals per lease TTL: one lost round trip never lets a live lease lapse. */
const RENEWALS_PER_TTL = 3;
/**
 * Each renewal period is spread over this many ticks, each renewing the leases of a share
 * of the rooms: the same store work, in smaller batches whose commands and replies die
 * young instead of being promoted to the old generation as garbage (one batch of 10,000
 * leases kept about 2 KiB of garbage per idle connection in the heap).
 */
const RENEWAL_SLICES = 5;

/** The tick that renews a room's leases: every member of a room in the same batch (one script per room). */
function renewalSlice(room: string): number {
  return room.length === 0 ? 0 : room.charCodeAt(room.length - 1) % RENEWAL_SLICES;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Connections implements ClientRegistry {
  private nextId = 0;
  private readonly leaseTimer: NodeJS.Timeout;
  private readonly leaving = new Set<Promise<void>>();
  /** Per slice: its renewal is in flight (the next tick of that slice waits for it). */
  private readonly renewing: boolean[] = new Array<boolean>(RENEWAL_SLICES).fill(false);
  private renewalTick = 0;
  /** One for every session, not a copy each (memory per idle connection). */
  private readonly context: SessionContext;

  constructor(
    services: ClientServices,
    /** The pod's client sockets: a session is in it from its open to its close. */
    private readonly sessions: SocketRegistry<Session>,
    private readonly admission: Admission,
    /** Unique per process: connection ids must never repeat across the cluster. */
    private readonly instanceId: string,
  ) {
    this.context = { ...services, registry: this };
    this.leaseTimer = setInterval(() => this.renewLeases(), Math.max(1, Math.floor(services.config.leaseTtlMs / RENEWALS_PER_TTL / RENEWAL_SLICES)));
    this.leaseTimer.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * `address` counts toward limits; `logAddress` is what the logs may show. The limits were
   * checked before the upgrade (Admission.refuseUpgrade); checked again here for upgrades that raced.
   */
  open(socket: WebSocket, address: string, logAddress: string, visitor: Visitor): void {
    const id = `${this.instanceId}:${(this.nextId++).toString(36)}`;
    const refusal = this.admission.refusalHere(address);
    if (refusal?.reason === 'draining') {
      // Only an upgrade that raced the onRequest check gets here.
      this.context.metrics.closes.inc({ code: String(CloseCode.ServiceRestart) });
      closeSocket(socket, CloseCode.ServiceRestart, 'draining', REFUSAL_GRACE_MS);
      return;
    }
    if (refusal !== null) {
      this.refuse(socket, id, refusal.reason);
      return;
    }
    // Kept only for the handshake hook: an idle client holds no header strings otherwise.
    const session = new Session(id, socket, address, this.context, this.context.hook === null ? null : visitor);
    this.sessions.add(session);
    this.context.metrics.connections.set(this.sessions.size);
    this.context.log.info({ conn: id, address: logAddress }, 'connection opened');
  }

  /**
   * An upgrade that raced the limits. Its dialect is not known yet (no handshake was read):
   * 1013, the standard "try again later", which every client of today retries, where the
   * Packager and Mist stop for good on 4003; a 2020 client reconnects on any code it has no
   * rule for.
   */
  private refuse(socket: WebSocket, id: string, reason: string): void {
    this.context.log.info({ conn: id, code: CloseCode.RetryLater, reason }, 'closing connection');
    this.context.metrics.protocolErrors.inc({ reason });
    this.context.metrics.closes.inc({ code: String(CloseCode.RetryLater) });
    closeSocket(socket, CloseCode.RetryLater, reason, REFUSAL_GRACE_MS);
  }

  /** ClientRegistry. */
  forget(session: Session, leaving: Promise<void> | null): void {
    if (!this.sessions.delete(session)) return;
    this.context.metrics.connections.set(this.sessions.size);
    if (leaving !== null) {
      this.leaving.add(leaving);
      void leaving.finally(() => this.leaving.delete(leaving));
    }
  }

  /**
   * Renews the leases of the joined clients of one slice of the rooms (each slice once per
   * renewal period). A client whose lease the store could not extend (this pod was cut off
   * from Redis for longer than a lease, or Redis lost the room) no longer counts as a member
   * or holds its username: it is closed with 1012 and reconnects, and its new join goes
   * through every check again.
   */
  private renewLeases(): void {
    const slice = this.renewalTick;
    this.renewalTick = (slice + 1) % RENEWAL_SLICES;
    if (this.renewing[slice] === true) return;
    const leases: Lease[] = [];
    for (const session of this.sessions) {
      const lease = session.lease;
      if (lease !== null && renewalSlice(lease.room) === slice) leases.push(lease);
    }
    if (leases.length === 0) return;
    this.renewing[slice] = true;
    this.context.engine.store
      .renew(leases)
      .then((lost) => {
        if (lost.length === 0) return;
        this.context.log.warn({ lost: lost.length, leases: leases.length }, 'leases lost in the store: closing those clients so they rejoin');
        this.context.metrics.leasesLost.inc(lost.length);
        const ids = new Set(lost.map((lease) => lease.connectionId));
        for (const session of this.sessions) if (ids.has(session.id)) session.close(CloseCode.ServiceRestart, 'lease-lost');
      })
      .catch((error: unknown) => this.context.log.error({ err: error, leases: leases.length }, 'lease renewal failed'))
      .finally(() => {
        this.renewing[slice] = false;
      });
  }

  /**
   * Drain: refuse new connections, write what is pending, then close every client with
   * 1012 in batches (a thundering herd of reconnects would hit the other pods at once).
   * Resolves when every socket has closed and released its lease, or `deadline` passed.
   */
  async drain(batchSize: number, deadline: number): Promise<void> {
    this.admission.startRefusing();
    this.context.scheduler.flushAll();
    const all = [...this.sessions];
    for (let start = 0; start < all.length; start += batchSize) {
      for (const session of all.slice(start, start + batchSize)) session.flushAndClose(CloseCode.ServiceRestart, 'draining');
      await pause(DRAIN_BATCH_PAUSE_MS);
    }
    while (this.sessions.size > 0 && Date.now() < deadline) await pause(DRAIN_POLL_MS);
    // Leases released now free usernames and slots at once instead of after LEASE_TTL.
    await Promise.race([Promise.allSettled([...this.leaving]), pause(Math.max(0, deadline - Date.now()))]);
  }

  stop(): void {
    clearInterval(this.leaseTimer);
    this.sessions.stop();
    this.context.scheduler.stop();
    this.context.hub.close();
  }
}
