import type { ProtocolLimits } from '@cloudvars/protocol';
import type { RoomEngine } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { HandshakeHook } from '../hook/handshake-hook.ts';
import type { PolicyBook } from '../policy/policy-book.ts';
import type { FlushScheduler } from './outbox.ts';
import type { RoomHub } from '../hub/room-hub.ts';
import type { Session } from './session.ts';
import type { StorePressure } from './store-pressure.ts';

/** What every session of a pod shares. Built once by the connection registry. */
export interface SessionContext {
  readonly config: Config;
  readonly protocolLimits: ProtocolLimits;
  readonly engine: RoomEngine;
  readonly hub: RoomHub;
  readonly scheduler: FlushScheduler;
  /** Store calls in flight, and the sessions not read meanwhile. */
  readonly pressure: StorePressure;
  readonly metrics: GatewayMetrics;
  readonly log: FastifyBaseLogger;
  /** The project policies in force on this pod. */
  readonly policies: PolicyBook;
  /** HANDSHAKE_HOOK_URL's client; null: no hook. */
  readonly hook: HandshakeHook | null;
  /** The session closed: drop it from the pod's registry; `leaving` settles when its lease is released. */
  forget(session: Session, leaving: Promise<void> | null): void;
}
