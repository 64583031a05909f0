/** Raised by every call on an engine after `close()`: the caller is shutting down or has a lifecycle bug. */
export class EngineClosedError extends Error {
  readonly code = 'CV_ERR_ENGINE_CLOSED';
  constructor() {
    super('the room engine is closed');
    this.name = 'EngineClosedError';
  }
}

/** `listen()` was called twice: a bus has exactly one listener (ports.ts). */
export class ListenerAlreadySetError extends Error {
  readonly code = 'CV_ERR_BUS_LISTENER_SET';
  constructor() {
    super('the bus already has a listener');
    this.name = 'ListenerAlreadySetError';
  }
}
