/**
 * `npm run bench`: every benchmark under test/bench, one after the other.
 * Each prints its numbers with a baseline measured in the same run; none asserts on time.
 * `npm run bench -- formats` runs only the named ones.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const all = ['formats', 'collector', 'catalog', 'start', 'search', 'load', 'health', 'sizing'];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : all;

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
