/**
 * What the API's routes share, and the request fields its hooks fill in (Fastify's
 * declaration merging: `config.access` and `config.action` on every API route).
 */
import type { ProtocolLimits } from '@cloudvars/protocol';
import type { RoomEngine } from '@cloudvars/rooms';
import type { Config } from '../config.ts';
import type { LiveViewers } from '../live/viewers.ts';
import type { PolicyBook } from '../policy/policy-book.ts';
import type { Access } from './access.ts';
import { ApiError } from './errors.ts';

declare module 'fastify' {
  /** Read by openapi.ts only; Fastify ignores them. */
  interface FastifySchema {
    summary?: string;
    description?: string;
  }
  interface FastifyContextConfig {
    /** Who may call the route (access.ts). */
    access?: Access;
    /** The admin action's name in the audit log and the admin-calls metric. */
    action?: string;
  }
  interface FastifyRequest {
    /** The operator whose token the request carried (admin calls), else null. */
    operator: string | null;
    /** What an admin call acted on, for its audit line (room, variable, target...). */
    audit: Record<string, unknown> | null;
  }
}

export interface ApiContext {
  readonly config: Config;
  readonly protocolLimits: ProtocolLimits;
  readonly engine: RoomEngine;
  readonly viewers: LiveViewers;
  readonly policies: PolicyBook;
}

/**
 * An engine call: a failure (Redis unreachable, a timeout) is the store's, not the caller's:
 * 503 with Retry-After. The cause is logged by the error handler.
 */
export async function fromEngine<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (cause) {
    const error = new ApiError(503, 'store-unavailable', 'the room store did not answer; try again', { 'retry-after': '1' });
    (error as { cause?: unknown }).cause = cause;
    throw error;
  }
}

/** The origin an operator's changes carry on the bus (never a connection id: no pod mistakes it for its client's echo). */
export function operatorOrigin(operator: string): string {
  return `api:${operator}`;
}
