/**
 * The Redis URL the vitest globalSetup (scripts/test-redis-setup.ts) provides. The
 * declaration lives here, inside the type-checked tree, so every test file sees it.
 */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export function redisUrl(): string {
  return inject('redisUrl');
}
