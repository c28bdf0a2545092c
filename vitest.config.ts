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
    // Three on the 2-core CI machine: a test file spends much of its time waiting on what it
    // spawned (catalog servers, collector runs, restore scripts, Chromium, PostgreSQL), and two
    // workers left the cores idle meanwhile (one run: 1,746 s of test time in 918 s of wall).
    maxWorkers: 3,
    // Worker processes compile WebAssembly with V8's baseline compiler only. Each embedded
    // catalog a test starts in its worker is a PGlite instance (PostgreSQL compiled to
    // WebAssembly), and V8 otherwise recompiles its hot functions with its optimizing compiler
    // in background threads: seconds of CPU a worker for catalogs that run a few hundred small
    // statements (three catalog test files: 46–49 s of CPU → 38–40 s). The code runs the same;
    // only how fast differs. The catalog's own processes (npm start, dist/*.mjs, the ones tests
    // spawn) keep V8's defaults, which pay off over a long-lived server's queries.
    execArgv: ['--liftoff-only'],
    // Each worker process runs its test files one after another with the modules it
    // has loaded kept, instead of a fresh process per file: a file starting a catalog loaded the
    // app's ~140 modules again, each a round trip to this process (about 1.3 s of a worker per
    // file, a fifth of the run's CPU). Every file still builds its own catalogs (own data dir,
    // database and bucket); the app keeps per-catalog state in WeakMaps keyed by the catalog's
    // db, store or services, and its few module-wide values (the Lambda container's app, the
    // server's link to its other processes) are set only inside the bundles tests run as child
    // processes. A file that changes process.env or spies on console puts it back in afterAll.
    isolate: false,
  },
});
