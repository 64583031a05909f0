import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'tools/*/test/**/*.test.ts'],
    globalSetup: ['./scripts/test-redis-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: process-level cluster and fault tests start their own servers.
    maxWorkers: 2,
  },
});
