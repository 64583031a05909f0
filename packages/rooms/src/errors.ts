/**
 * The one error type of the room engine, whichever implementation raised it. Logs and
 * metrics key on `code`; the message never contains a secret (no Redis password).
 */
export type RoomEngineErrorCode =
  /** The engine was used after close(): the caller is shutting down or has a lifecycle bug. */
  | 'CV_ERR_ENGINE_CLOSED'
  /** `listen()` was called twice: a bus has exactly one listener (ports.ts). */
  | 'CV_ERR_BUS_LISTENER_SET'
  /** REDIS_URL does not parse or names an unsupported scheme. */
  | 'CV_ERR_REDIS_URL'
  /** A room name or key prefix would break the `{room}` hash tag. */
  | 'CV_ERR_REDIS_KEY'
  /** A Lua script answered something this engine does not understand (version skew). */
  | 'CV_ERR_REDIS_REPLY'
  /** Redis did not answer a call within its deadline (frozen, unreachable, Cluster down). */
  | 'CV_ERR_REDIS_TIMEOUT';

export class RoomEngineError extends Error {
  readonly code: RoomEngineErrorCode;

  constructor(code: RoomEngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RoomEngineError';
    this.code = code;
  }
}

export function engineClosed(): RoomEngineError {
  return new RoomEngineError('CV_ERR_ENGINE_CLOSED', 'the room engine is closed');
}

export function listenerAlreadySet(): RoomEngineError {
  return new RoomEngineError('CV_ERR_BUS_LISTENER_SET', 'the bus already has a listener');
}

/** Whatever was thrown, as an Error: a rejection may carry any value. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
