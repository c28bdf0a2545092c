// Bundles the collector into one CommonJS file that runs on plain Node >= 18.
// Usage: node infra/build.mjs [--quiet]
import { build } from 'esbuild';
import { readFileSync, statSync } from 'node:fs';

const quiet = process.argv.includes('--quiet');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = new URL('../dist/collector.cjs', import.meta.url).pathname;

await build({
  entryPoints: [new URL('../collector/main.ts', import.meta.url).pathname],
  outfile,
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
if (!quiet) console.log(`dist/collector.cjs ${(statSync(outfile).size / 1024).toFixed(1)} KiB`);
