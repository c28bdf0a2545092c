/**
 * `catalog reindex` over an artifact whose chunk the store lost: exit 2, and the text output
 * names the artifact and why (not only --json), as rebuild names what it left out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { artifacts } from '../../db/schema.js';
import { chunkKey } from '../../api/store/types.js';
import { startTestCatalog } from '../helpers/catalog.js';
import { cli, cliEnvOf } from '../helpers/in-process-cli.js';
import { ingest } from '../helpers/ingest-client.js';

describe('catalog reindex', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-reindex-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('names each artifact it could not read and exits 2', { timeout: 120_000 }, async () => {
    const catalog = await startTestCatalog('embedded', { env: { DATA_DIR: dataDir } });
    const bytes = new TextEncoder().encode('tank/l@daily\t1793491200\t1\n');
    const done = await ingest(catalog, { host: 'esx-lost', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes }] });
    const id = done.artifacts[0].id;
    const [row] = await catalog.services.db.select({ chunks: artifacts.chunks }).from(artifacts).where(eq(artifacts.id, id));
    for (const c of row.chunks as Array<{ sha256: string }>) await catalog.services.store.delete(chunkKey(c.sha256));
    const { env } = await cliEnvOf(catalog, 'embedded', dataDir);
    const run = await cli(['reindex'], env);
    expect(run.code).toBe(2);
    expect(run.out).toMatch(/^reindex: 1 artifacts — 0 parsed, 0 parse errors, 0 opaque, 1 unreadable\n {2}artifact /);
    expect(run.out).toContain(`\n  artifact ${id}: `);
  });
});
