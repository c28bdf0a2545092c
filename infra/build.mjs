// Builds:
//   dist/collector.cjs  the collector: one CommonJS file for plain Node >= 18, no dependencies
//   dist/lambda.mjs     (with --lambda) the catalog's AWS Lambda handler, one ESM file,
//                       with dist/migrations beside it (deploy the dist/ folder)
//   dist/server.mjs     (with --server) the catalog server as one ESM file (containers, systemd)
// Usage: node infra/build.mjs [--quiet] [--lambda | --lambda-only] [--server] [--out DIR]
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const quiet = process.argv.includes('--quiet');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const path = (p) => new URL(`../${p}`, import.meta.url).pathname;
const report = (file) => {
  if (!quiet) console.log(`${file} ${(statSync(path(file)).size / 1024).toFixed(1)} KiB`);
};

/**
 * Every output is written to a temp file and renamed into place, so a test or a process
 * running the previous build never reads half a file while a new one is written.
 */
function writeAtomically(file, bytes) {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, bytes);
  renameSync(temp, file);
}

/** esbuild in memory, then each output file written atomically. */
async function buildTo(options) {
  const result = await build({ ...options, write: false });
  for (const f of result.outputFiles) writeAtomically(f.path, f.contents);
}

/** db/migrations copied file by file, each atomically (the catalog bundles read them beside their module). */
function copyMigrations(to) {
  const walk = (from, dest) => {
    for (const entry of readdirSync(from, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(from, entry.name), join(dest, entry.name));
      else writeAtomically(join(dest, entry.name), readFileSync(join(from, entry.name)));
    }
  };
  walk(path('db/migrations'), to);
}

// Parts of fast-xml-parser that formats/smf.ts switches off are dead code in the
// collector, which has a size budget: see the comments in infra/shims/.
const xmlOptionsOff = {
  name: 'xml-options-off',
  setup(b) {
    b.onResolve({ filter: /^(@nodable\/entities|is-unsafe)$/ }, () => ({ path: path('infra/shims/xml-entities-off.js') }));
    b.onResolve({ filter: /^strnum$/ }, () => ({ path: path('infra/shims/no-number-parsing.js') }));
    b.onResolve({ filter: /\/DocTypeReader\.js$/ }, () => ({ path: path('infra/shims/doctype-off.js') }));
    b.onResolve({ filter: /^path-expression-matcher$/ }, () => ({ path: path('infra/shims/path-matcher-off.js') }));
  },
};

const lambdaOnly = process.argv.includes('--lambda-only');
if (!lambdaOnly)
  await buildTo({
    entryPoints: [path('collector/main.ts')],
    plugins: [xmlOptionsOff],
    charset: 'utf8',
    outfile: path('dist/collector.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    banner: { js: '#!/usr/bin/env node' },
    define: { __COLLECTOR_VERSION__: JSON.stringify(pkg.version) },
    logLevel: quiet ? 'error' : 'warning',
  });
if (!lambdaOnly) report('dist/collector.cjs');

/**
 * The catalog as one ESM file for Node: the AWS Lambda handler, or the server a container or
 * systemd runs without tsx. PGlite loads its WebAssembly next to its own module, so it stays
 * external (installed with the production dependencies; on Lambda the catalog runs on
 * PostgreSQL and never loads it); db/client.ts finds migrations beside its module: dist/.
 */
const outArg = process.argv.indexOf('--out');
/** Where the catalog bundles go: dist/, or `--out DIR` (inside the checkout, so node_modules resolves). */
const catalogOut = outArg > 0 ? resolve(process.argv[outArg + 1]) : path('dist');

async function catalogBundle(entry, name) {
  const outfile = join(catalogOut, name);
  await buildTo({
    entryPoints: [path(entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    // The AWS SDK and postgres.js still call require() inside an ESM bundle.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    external: ['@electric-sql/pglite', '@electric-sql/pglite/*'],
    logLevel: quiet ? 'error' : 'warning',
  });
  copyMigrations(join(catalogOut, 'migrations'));
  if (!quiet) console.log(`${outfile} ${(statSync(outfile).size / 1024).toFixed(1)} KiB`);
}

if (lambdaOnly || process.argv.includes('--lambda')) await catalogBundle('api/lambda.ts', 'lambda.mjs');
if (process.argv.includes('--server')) await catalogBundle('api/server.ts', 'server.mjs');
