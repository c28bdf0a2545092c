import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'formats/**/*.test.ts', 'collector/**/*.test.ts', 'api/**/*.test.ts'],
    exclude: ['node_modules', 'dist', 'data', 'test/bench/**'],
    // dist/collector.cjs and dist/lambda.mjs are built once per run, before every suite.
    globalSetup: ['test/helpers/build-once.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
