import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages export `source` (src/*.ts) besides `default` (the build in dist/):
  // tests always run the sources, never a possibly stale or missing dist/. Vitest passes
  // these conditions on to its worker processes as --conditions.
  ssr: { resolve: { conditions: ['source', 'module', 'node', 'development|production'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'tools/*/test/**/*.test.ts'],
    globalSetup: ['./scripts/test-redis-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: process-level cluster and fault tests start their own servers.
    maxWorkers: 2,
  },
});
