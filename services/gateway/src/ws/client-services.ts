/**
 * What every client of a pod shares: built once by app.ts and handed down to each client's
 * parts (its session, join, view and writes). Pod services only: nothing here knows a
 * client, so none of them calls back into one.
 */
import type { ProtocolLimits } from '@cloudvars/protocol';
import type { RoomEngine } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { HandshakeHook } from '../hook/handshake-hook.ts';
import type { RoomHub } from '../hub/room-hub.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { PolicyBook } from '../policy/policy-book.ts';
import type { FlushScheduler } from './outbox.ts';
import type { StorePressure } from './store-pressure.ts';

export interface ClientServices {
  readonly config: Config;
  readonly protocolLimits: ProtocolLimits;
  readonly engine: RoomEngine;
  readonly hub: RoomHub;
  readonly scheduler: FlushScheduler;
  /** Store calls in flight, and the clients not read meanwhile. */
  readonly pressure: StorePressure;
  readonly metrics: GatewayMetrics;
  readonly log: FastifyBaseLogger;
  /** The project policies in force on this pod. */
  readonly policies: PolicyBook;
  /** HANDSHAKE_HOOK_URL's client; null: no hook. */
  readonly hook: HandshakeHook | null;
}
