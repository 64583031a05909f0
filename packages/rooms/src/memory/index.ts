export { createMemoryEngine, type MemoryEngineOptions } from './engine.ts';
export { EngineClosedError, ListenerAlreadySetError } from './errors.ts';
