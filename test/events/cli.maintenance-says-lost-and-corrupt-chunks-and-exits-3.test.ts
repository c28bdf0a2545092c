/**
 * `npm run catalog -- maintenance` on an embedded catalog whose store lost or damaged chunks:
 * a chunk gone (the listing doubts it) and a chunk overwritten (the scrub finds it corrupt)
 * exit 3 with a line saying what that means and what to do (and the chunk-missing event it
 * raised), as long as the chunk stays missing; a chunks directory replaced by a
 * file (a failed mount) is a failed listing step (exit 1), not every chunk doubted quietly.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, cliEnvOf } from '../helpers/in-process-cli.js';
import { startTestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

/** Every chunk file under DATA_DIR/blobs/chunks. */
function chunkFiles(dataDir: string): string[] {
  const root = join(dataDir, 'blobs', 'chunks');
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)).map((f) => join(root, d, f)));
}

describe('catalog maintenance over a damaged store', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-maint-cli-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('exits 3 and says what lost and corrupt chunks mean; an unlistable chunks directory fails the step', { timeout: 120_000 }, async () => {
    const catalog = await startTestCatalog('embedded', { env: { DATA_DIR: dataDir } });
    const text = (n: number) => new TextEncoder().encode(`tank/l@snap${n}\t1793491200\t1\n`.repeat(50));
    await ingest(catalog, {
      host: 'esx-maint',
      artifacts: [1, 2, 3].map((n) => ({ kind: 'zfs-snapshots' as const, fileName: `z${n}.txt`, bytes: text(n) })),
    });
    const { env } = await cliEnvOf(catalog, 'embedded', dataDir);
    const files = chunkFiles(dataDir);
    expect(files.length).toBeGreaterThanOrEqual(2);

    // One chunk lost: the listing doubts it.
    rmSync(files[0]);
    const lost = await cli(['maintenance'], { ...env, SCRUB_PERCENT: '0' });
    expect(lost.err).toBe('');
    expect(lost.code).toBe(3);
    expect(lost.out).toMatch(/listing \d+ vouched, [1-9]\d* doubted/);
    expect(lost.out).toContain('not in the store at their recorded size');
    expect(lost.out).toContain('npm run catalog -- check');
    expect(lost.out).toContain('chunk-missing 1 raised, 0 resolved, 1 open');
    expect(lost.out).toContain('1 volume or host affected');
    expect(lost.out).toContain('A critical chunk-missing event on each (GET /v1/events?type=chunk-missing)');
    // An hour later nothing new is doubted, yet the chunk is still missing: still exit 3.
    const still = await cli(['maintenance'], { ...env, SCRUB_PERCENT: '0' });
    expect(still.code).toBe(3);
    expect(still.out).toMatch(/listing \d+ vouched, 0 doubted;.*chunk-missing 0 raised, 0 resolved, 1 open/);

    // One chunk overwritten with other bytes of its size: the scrub (all of it, due at once) finds it corrupt.
    writeFileSync(files[1], Buffer.alloc(statSync(files[1]).size, 0x41));
    const corrupt = await cli(['maintenance', '--json'], { ...env, SCRUB_PERCENT: '100' });
    expect(corrupt.code).toBe(3);
    expect(JSON.parse(corrupt.out).scrub).toMatchObject({ corrupt: 1, clean: false });

    // The chunks directory replaced by a file, as a failed mount leaves it.
    rmSync(join(dataDir, 'blobs', 'chunks'), { recursive: true });
    writeFileSync(join(dataDir, 'blobs', 'chunks'), '');
    const unmounted = await cli(['maintenance'], { ...env, SCRUB_PERCENT: '0' });
    expect(unmounted.code).toBe(1);
    expect(unmounted.out).toMatch(/listing -;/);
    expect(unmounted.out).toMatch(/chunk listing failed: cannot list .*chunks: it is a file, not a directory/);
  });
});
