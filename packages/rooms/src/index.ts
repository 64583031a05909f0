export type * from './ports.ts';
export * from './memory/index.ts';
