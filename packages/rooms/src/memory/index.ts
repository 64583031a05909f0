export { createMemoryEngine, type MemoryEngineOptions } from './engine.ts';
export type { MemoryBusError } from './bus.ts';
export { EngineClosedError, ListenerAlreadySetError } from './errors.ts';
