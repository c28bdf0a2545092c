/**
 * `npm run bench`: every benchmark under test/bench, one after the other.
 * Each prints its numbers with a baseline measured in the same run; none asserts on time.
 * `npm run bench -- formats` runs only the named ones.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const all = ['formats', 'collector', 'catalog', 'start', 'search', 'load', 'health', 'sizing', 'bigcommit'];
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    `usage: npm run bench [-- NAME...]\n\nRuns the named benchmarks (all, without a name), each beside a baseline measured in the same run.\n` +
      `The benchmarks: ${all.join(', ')}.\nTheir settings (BENCH_*, SIZING_*) and every round measured: docs/performance.md.\n`,
  );
  process.exit(0);
}
// Refused before any runs: a typo would otherwise run nothing and exit 0, and an option all of them.
const option = args.find((a) => a.startsWith('-'));
if (option) {
  process.stderr.write(`bench: unknown option ${option} (npm run bench -- --help)\n`);
  process.exit(64);
}
const unknown = args.find((a) => !all.includes(a));
if (unknown !== undefined) {
  process.stderr.write(`bench: no benchmark ${JSON.stringify(unknown)}; the benchmarks: ${all.join(', ')}\n`);
  process.exit(64);
}
const names = args.length ? args : all;

for (const name of names) {
  const file = join(here, `${name}.bench.ts`);
  if (!existsSync(file)) {
    console.log(`\n## ${name}: no benchmark file (${file})`);
    continue;
  }
  console.log(`\n## ${name}`);
  const mod = (await import(file)) as { run: () => Promise<void> };
  await mod.run();
}
