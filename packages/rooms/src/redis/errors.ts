/** Stable codes for what the Redis engine can fail with; logs and metrics key on them. */
export type RedisEngineErrorCode =
  /** REDIS_URL does not parse or names an unsupported scheme. */
  | 'CV_ERR_REDIS_URL'
  /** A room name or key prefix would break the `{room}` hash tag. */
  | 'CV_ERR_REDIS_KEY'
  /** A Lua script answered something this engine does not understand (version skew). */
  | 'CV_ERR_REDIS_REPLY'
  /** Redis did not answer a call within its deadline (frozen, unreachable, Cluster down). */
  | 'CV_ERR_REDIS_TIMEOUT'
  /** The engine was used after close() (the same code as the memory engine's). */
  | 'CV_ERR_ENGINE_CLOSED'
  /** `listen()` was called twice: a bus has exactly one listener (ports.ts). */
  | 'CV_ERR_BUS_LISTENER_SET';

export class RedisEngineError extends Error {
  readonly code: RedisEngineErrorCode;

  constructor(code: RedisEngineErrorCode, message: string) {
    super(message);
    this.name = 'RedisEngineError';
    this.code = code;
  }
}
