import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'formats/**/*.test.ts', 'collector/**/*.test.ts', 'api/**/*.test.ts'],
    exclude: ['node_modules', 'dist', 'data', 'test/bench/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
