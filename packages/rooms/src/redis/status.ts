/** What the Redis engine reports through `onStatus`; the gateway maps it to logs and metrics. */
export type RedisRole = 'store' | 'bus';

export type RedisStatusEvent =
  /** A connection error or a failure the engine handled itself (code says which). */
  | { readonly type: 'error'; readonly role: RedisRole; readonly code: string; readonly error: Error }
  /** A connection is down and will retry after `delayMs`. */
  | { readonly type: 'reconnecting'; readonly role: RedisRole; readonly delayMs: number }
  /** A connection is (again) ready for commands. */
  | { readonly type: 'ready'; readonly role: RedisRole }
  /** The subscription came back after a loss; the listener was told to resync. */
  | { readonly type: 'resync' }
  /** A message on a room channel that is not an event of this engine (version skew?). */
  | { readonly type: 'malformed-event'; readonly channel: string };
