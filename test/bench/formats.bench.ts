/**
 * Parse throughput of formats/ on a 2 MiB and a 20 MiB VMFS header dump and a
 * ~1 MB SMF export, each against a plain SHA-256 of the same bytes in the same
 * run (the collector hashes every byte it uploads, so that is the yardstick).
 * Run alone: `npx tsx test/bench/formats.bench.ts`.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { detect } from '../../formats/detect.js';
import { parseArtifact } from '../../formats/parse.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';

const MiB = 1024 * 1024;
/** Each measurement repeats until it has run at least this long. */
const MIN_MS = 400;

function measure(fn: () => unknown): { perOpMs: number; ops: number } {
  fn();
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_MS) {
    fn();
    ops++;
    elapsed = performance.now() - start;
  }
  return { perOpMs: elapsed / ops, ops };
}

function line(name: string, bytes: Uint8Array, parse: () => unknown): void {
  const p = measure(parse);
  const h = measure(() => createHash('sha256').update(bytes).digest());
  const mbps = (ms: number) => bytes.length / MiB / (ms / 1000);
  console.log(
    `${name.padEnd(44)} ${(bytes.length / MiB).toFixed(2).padStart(6)} MiB  ` +
      `parse ${p.perOpMs.toFixed(3).padStart(9)} ms (${mbps(p.perOpMs).toFixed(0).padStart(9)} MiB/s)  ` +
      `sha256 ${h.perOpMs.toFixed(3).padStart(8)} ms (${mbps(h.perOpMs).toFixed(0).padStart(5)} MiB/s)  ` +
      `parse/sha256 time ratio ${(p.perOpMs / h.perOpMs).toFixed(4)}`,
  );
}

/** Prints the formats/ throughput lines. */
export async function run(): Promise<void> {
  const legacy = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy' });
  line('vmfs-header VMFS3 MBR, 2 MiB legacy dump', legacy, () => parseArtifact(detect(legacy), legacy));
  const full = buildVmfsDisk({ lvmMajor: 5, dumpLength: 20 * MiB + 4096 });
  line('vmfs-header VMFS5 GPT, 20 MiB dump with FS desc', full, () => parseArtifact(detect(full), full));

  let bigStmfExport: ((targetBytes?: number) => string) | undefined;
  try {
    ({ bigStmfExport } = (await import('../fixtures/text-fixtures.js')) as { bigStmfExport?: (targetBytes?: number) => string });
  } catch (e) {
    console.log(`stmf-smf ~1 MB export: skipped (text fixtures not loadable: ${(e as Error).message})`);
    return;
  }
  if (typeof bigStmfExport !== 'function') {
    console.log('stmf-smf ~1 MB export: skipped (test/fixtures/text-fixtures.ts exports no bigStmfExport generator)');
    return;
  }
  const smf = new TextEncoder().encode(bigStmfExport(1_000_000));
  try {
    parseArtifact('stmf-smf', smf);
  } catch (e) {
    console.log(`stmf-smf ~1 MB export: skipped (the parser refused the generated export: ${(e as Error).message})`);
    return;
  }
  line('stmf-smf export (svccfg export -a stmf)', smf, () => parseArtifact(detect(smf), smf));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
