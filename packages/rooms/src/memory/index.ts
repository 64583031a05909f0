export { createMemoryEngine, type MemoryEngineOptions } from './engine.ts';
